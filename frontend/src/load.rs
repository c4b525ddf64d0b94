//! What a page loads from the API: one resource type for every kind of answer.

use std::any::Any;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::rc::Rc;

use leptos::prelude::*;

use crate::api::{ApiFailure, ApiResult};

/// An answer of any type, or the failure.
type Loaded = Result<Rc<dyn Any>, ApiFailure>;

/// Starts a load again when what it reads changes.
type Fetch = Box<dyn Fn() -> Pin<Box<dyn Future<Output = Loaded>>>>;

/// An API answer that a page loads, reloaded when the signals its fetch reads change, read in `Suspense` and
/// `Transition` like a Leptos resource. It is one: a `LocalResource` whose answer's type is erased, so that the wasm
/// bundle holds the resource machinery once rather than once per type of answer (several KB each).
pub struct Load<T> {
    resource: LocalResource<Loaded>,
    answer: PhantomData<fn() -> T>,
}

impl<T> Clone for Load<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Load<T> {}

impl<T: Clone + 'static> Load<T> {
    /// Loads what `fetch` answers, and again each time a signal that `fetch` reads changes.
    pub fn new<Answer: Future<Output = ApiResult<T>> + 'static>(fetch: impl Fn() -> Answer + 'static) -> Self {
        let fetch: Fetch = Box::new(move || {
            let answer = fetch();
            Box::pin(async move { answer.await.map(|value| Rc::new(value) as Rc<dyn Any>) })
        });
        Self { resource: resource(fetch), answer: PhantomData }
    }

    /// The answer once loaded (tracked, so a page's view follows it).
    pub fn get(&self) -> Option<ApiResult<T>> {
        self.resource.get().map(|loaded| {
            loaded.map(|value| value.downcast_ref::<T>().cloned().expect("a load holds answers of its own type"))
        })
    }

    /// Loads again.
    pub fn refetch(&self) {
        self.resource.refetch();
    }
}

fn resource(fetch: Fetch) -> LocalResource<Loaded> {
    LocalResource::new(fetch)
}
