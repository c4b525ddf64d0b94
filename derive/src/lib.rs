//! `#[derive(CompactDeserialize)]`: implements `serde::Deserialize` for Rampart's DTOs with less code than serde's
//! own derive, because the admin center's wasm bundle carries one copy of every type's deserializer.
//!
//! The JSON a type accepts and the errors it gives are serde's: `missing field`, `unknown field … expected one of`
//! (with `deny_unknown_fields`), `duplicate field`, `unknown variant … expected one of`, `invalid type` (an unknown
//! variant is reported at the end of its string rather than its start). What is left out is what JSON does not need:
//! structs are read from maps only (serde's derive also reads them from arrays), and field and variant names are read
//! as strings through one shared path (serde's derive writes a name reader per type). An enum of unit variants only is
//! a string, read as one: serde's derive also reads `{"variant": null}`, and where the value is not a string it says
//! `expected value` (serde_json) where this derive says `invalid type: …, expected a string`.
//!
//! Supported `#[serde(...)]` attributes — anything else is a compile error, so that a type never silently changes
//! meaning:
//! - on a struct: `deny_unknown_fields`;
//! - on a field: `default`, `rename = "…"`, `skip_serializing_if = "…"` (serialization only, ignored here), and
//!   `flatten` on one field whose type derives `CompactDeserialize` too (the keys the struct does not know are that
//!   field's; they are read as they come, where serde reads them after the rest of the map, so when a document
//!   has several problems the one reported can differ);
//! - on an enum: `rename_all = "snake_case"`; on a variant: `rename = "…"`.
//!
//! A missing `Option<…>` field is `None`, as with serde.

use proc_macro::TokenStream;
use proc_macro2::TokenStream as Tokens;
use quote::{format_ident, quote};
use syn::{Attribute, Data, DeriveInput, Error, Fields, LitStr, Type, parse_macro_input};

/// Derives `serde::Deserialize` in its compact form (see the crate documentation).
#[proc_macro_derive(CompactDeserialize, attributes(serde))]
pub fn derive(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand(&input).unwrap_or_else(Error::into_compile_error).into()
}

fn expand(input: &DeriveInput) -> Result<Tokens, Error> {
    if !input.generics.params.is_empty() {
        return Err(Error::new_spanned(&input.generics, "CompactDeserialize does not support generics"));
    }
    match &input.data {
        Data::Struct(data) => match &data.fields {
            Fields::Named(fields) => expand_struct(input, fields.named.iter().collect()),
            other => Err(Error::new_spanned(other, "CompactDeserialize supports structs with named fields only")),
        },
        Data::Enum(data) => expand_enum(input, data.variants.iter().collect()),
        Data::Union(_) => Err(Error::new_spanned(&input.ident, "CompactDeserialize does not support unions")),
    }
}

/// The `#[serde(...)]` options this derive reads.
#[derive(Default)]
struct Options {
    deny_unknown_fields: bool,
    default: bool,
    flatten: bool,
    rename: Option<String>,
    rename_all_snake_case: bool,
}

fn options(attrs: &[Attribute]) -> Result<Options, Error> {
    let mut options = Options::default();
    for attr in attrs.iter().filter(|attr| attr.path().is_ident("serde")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("deny_unknown_fields") {
                options.deny_unknown_fields = true;
            } else if meta.path.is_ident("default") {
                options.default = true;
            } else if meta.path.is_ident("flatten") {
                options.flatten = true;
            } else if meta.path.is_ident("rename") {
                options.rename = Some(meta.value()?.parse::<LitStr>()?.value());
            } else if meta.path.is_ident("rename_all") {
                let rule = meta.value()?.parse::<LitStr>()?;
                if rule.value() != "snake_case" {
                    return Err(Error::new_spanned(
                        rule,
                        "CompactDeserialize supports rename_all = \"snake_case\" only",
                    ));
                }
                options.rename_all_snake_case = true;
            } else if meta.path.is_ident("skip_serializing_if") {
                meta.value()?.parse::<LitStr>()?;
            } else {
                return Err(meta.error("not supported by CompactDeserialize; use serde's derive for this type"));
            }
            Ok(())
        })?;
    }
    Ok(options)
}

fn snake_case(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn is_option(ty: &Type) -> bool {
    matches!(ty, Type::Path(path) if path.qself.is_none()
        && path.path.segments.last().is_some_and(|segment| segment.ident == "Option"))
}

/// The name of the type that gathers a struct's fields while its map is read.
fn fields_type(name: &syn::Ident) -> syn::Ident {
    format_ident!("__CompactFields{}", name)
}

fn expand_struct(input: &DeriveInput, fields: Vec<&syn::Field>) -> Result<Tokens, Error> {
    let name = &input.ident;
    let vis = &input.vis;
    let container = options(&input.attrs)?;
    if container.default || container.flatten || container.rename.is_some() || container.rename_all_snake_case {
        return Err(Error::new_spanned(name, "CompactDeserialize supports deny_unknown_fields only on a struct"));
    }
    let gather = fields_type(name);
    let expecting = format!("struct {name}");
    let mut keys = Vec::new();
    let mut slots = Vec::new();
    let mut arms = Vec::new();
    let mut builds = Vec::new();
    let mut flattened = None;
    for (index, field) in fields.iter().enumerate() {
        let ident = field.ident.as_ref().expect("named fields");
        let field_options = options(&field.attrs)?;
        if field_options.deny_unknown_fields || field_options.rename_all_snake_case {
            return Err(Error::new_spanned(ident, "not supported on a field by CompactDeserialize"));
        }
        let slot = format_ident!("field_{}", index);
        let ty = &field.ty;
        if field_options.flatten {
            // The flattened struct's own gatherer takes the keys this one does not know.
            let Type::Path(path) = ty else {
                return Err(Error::new_spanned(ty, "CompactDeserialize flattens a struct deriving it only"));
            };
            let mut path = path.clone();
            let last = path.path.segments.last_mut().expect("a path has a segment");
            last.ident = fields_type(&last.ident);
            if flattened.is_some() || field_options.default || field_options.rename.is_some() {
                return Err(Error::new_spanned(ident, "CompactDeserialize flattens one field, without other options"));
            }
            slots.push(quote! { #slot: #path, });
            builds.push(quote! { #ident: self.#slot.finish()? });
            flattened = Some(slot);
            continue;
        }
        let key = field_options.rename.unwrap_or_else(|| ident.to_string().trim_start_matches("r#").to_owned());
        slots.push(quote! { #slot: ::core::option::Option<#ty>, });
        arms.push(quote! {
            #key => {
                if self.#slot.is_some() {
                    return ::core::result::Result::Err(<A::Error as ::serde::de::Error>::duplicate_field(#key));
                }
                self.#slot = ::core::option::Option::Some(map.next_value::<#ty>()?);
            }
        });
        let missing = if field_options.default {
            quote! { ::core::default::Default::default() }
        } else if is_option(ty) {
            quote! { ::core::option::Option::None }
        } else {
            quote! { return ::core::result::Result::Err(E::missing_field(#key)) }
        };
        builds.push(quote! {
            #ident: match self.#slot {
                ::core::option::Option::Some(value) => value,
                ::core::option::Option::None => #missing,
            }
        });
        keys.push(key);
    }
    let other = match &flattened {
        Some(slot) => quote! { return self.#slot.accept(key, map) },
        None => quote! { return ::core::result::Result::Ok(false) },
    };
    let unknown = if container.deny_unknown_fields {
        quote! {
            return ::core::result::Result::Err(<A::Error as ::serde::de::Error>::unknown_field(&key, FIELDS));
        }
    } else {
        quote! { map.next_value::<::serde::de::IgnoredAny>()?; }
    };
    let visitor = visitor(
        name,
        &expecting,
        quote! {
            fn visit_map<A: ::serde::de::MapAccess<'de>>(self, mut map: A) -> ::core::result::Result<#name, A::Error> {
                let mut fields = #gather::default();
                while let ::core::option::Option::Some(key) = map.next_key::<::std::string::String>()? {
                    if !fields.accept(&key, &mut map)? {
                        #unknown
                    }
                }
                fields.finish()
            }
        },
    );
    Ok(quote! {
        /// Gathers the fields of the struct of the same name while its map is read (`CompactDeserialize`).
        #[doc(hidden)]
        #[derive(Default)]
        #vis struct #gather { #(#slots)* }

        impl #gather {
            /// Reads the value of `key` if it is a field of this struct (or of one it flattens).
            #vis fn accept<'de, A: ::serde::de::MapAccess<'de>>(
                &mut self,
                key: &str,
                map: &mut A,
            ) -> ::core::result::Result<bool, A::Error> {
                match key {
                    #(#arms)*
                    _ => #other,
                }
                ::core::result::Result::Ok(true)
            }

            /// The struct, once every key is read.
            #vis fn finish<E: ::serde::de::Error>(self) -> ::core::result::Result<#name, E> {
                ::core::result::Result::Ok(#name { #(#builds),* })
            }
        }

        impl<'de> ::serde::Deserialize<'de> for #name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> ::core::result::Result<Self, D::Error> {
                const FIELDS: &[&str] = &[#(#keys),*];
                #visitor
                deserializer.deserialize_map(Visitor)
            }
        }
    })
}

/// `struct Visitor`, reading a `name` with `method` (a `visit_…` of serde's `Visitor`).
fn visitor(name: &syn::Ident, expecting: &str, method: Tokens) -> Tokens {
    quote! {
        struct Visitor;
        impl<'de> ::serde::de::Visitor<'de> for Visitor {
            type Value = #name;
            fn expecting(&self, formatter: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                formatter.write_str(#expecting)
            }
            #method
        }
    }
}

fn expand_enum(input: &DeriveInput, variants: Vec<&syn::Variant>) -> Result<Tokens, Error> {
    let name = &input.ident;
    let container = options(&input.attrs)?;
    if container.deny_unknown_fields || container.default || container.flatten || container.rename.is_some() {
        return Err(Error::new_spanned(name, "CompactDeserialize supports rename_all only on an enum"));
    }
    let mut codes = Vec::new();
    let mut variant_arms = Vec::new();
    let mut unit_arms = Vec::new();
    let mut all_units = true;
    for variant in &variants {
        let ident = &variant.ident;
        let variant_options = options(&variant.attrs)?;
        let code = variant_options.rename.unwrap_or_else(|| {
            if container.rename_all_snake_case { snake_case(&ident.to_string()) } else { ident.to_string() }
        });
        match &variant.fields {
            Fields::Unit => {
                unit_arms.push(quote! { #code => ::core::result::Result::Ok(#name::#ident), });
                variant_arms.push(quote! {
                    #code => {
                        ::serde::de::VariantAccess::unit_variant(variant)?;
                        ::core::result::Result::Ok(#name::#ident)
                    }
                });
            }
            Fields::Unnamed(fields) if fields.unnamed.len() == 1 => {
                all_units = false;
                variant_arms.push(quote! {
                    #code => ::serde::de::VariantAccess::newtype_variant(variant).map(#name::#ident),
                });
            }
            other => {
                return Err(Error::new_spanned(other, "CompactDeserialize supports unit and newtype variants only"));
            }
        }
        codes.push(code);
    }
    if all_units {
        // Unit variants only: the value is a string, read through the one string reader every such enum shares.
        return Ok(quote! {
            impl<'de> ::serde::Deserialize<'de> for #name {
                fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> ::core::result::Result<Self, D::Error> {
                    const VARIANTS: &[&str] = &[#(#codes),*];
                    let code = <::std::string::String as ::serde::Deserialize>::deserialize(deserializer)?;
                    match code.as_str() {
                        #(#unit_arms)*
                        other => ::core::result::Result::Err(
                            <D::Error as ::serde::de::Error>::unknown_variant(other, VARIANTS),
                        ),
                    }
                }
            }
        });
    }
    let expecting = format!("enum {name}");
    let type_name = name.to_string();
    let visitor = visitor(
        name,
        &expecting,
        quote! {
            fn visit_enum<A: ::serde::de::EnumAccess<'de>>(self, data: A) -> ::core::result::Result<#name, A::Error> {
                let (code, variant) = data.variant::<::std::string::String>()?;
                match code.as_str() {
                    #(#variant_arms)*
                    other => ::core::result::Result::Err(
                        <A::Error as ::serde::de::Error>::unknown_variant(other, VARIANTS),
                    ),
                }
            }
        },
    );
    Ok(quote! {
        impl<'de> ::serde::Deserialize<'de> for #name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> ::core::result::Result<Self, D::Error> {
                const VARIANTS: &[&str] = &[#(#codes),*];
                #visitor
                deserializer.deserialize_enum(#type_name, VARIANTS, Visitor)
            }
        }
    })
}
