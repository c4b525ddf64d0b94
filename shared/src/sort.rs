//! Stable sorting with a single copy of the sorting code in a binary.
//!
//! The standard library's stable sort is compiled again for every element type and comparison (several KB of wasm
//! each). These functions sort positions (`usize`, one comparison type for the whole program, with a small merge
//! sort) and then move the elements into their places, so that only the few lines below are repeated per element
//! type. Used where the admin center's bundle would otherwise carry a copy per call site; the cost is one allocation
//! per sort.

use std::cmp::Ordering;

/// Up to this length, an insertion sort in place.
const SHORT: usize = 16;

/// Sorts `items` by `compare`, keeping equal elements in their order.
pub fn sort_by<T>(items: &mut [T], mut compare: impl FnMut(&T, &T) -> Ordering) {
    if items.len() <= SHORT {
        // Short lists (most of them: the policies of a setting, a sample of devices) without allocating.
        for end in 1..items.len() {
            let mut at = end;
            while at > 0 && compare(&items[at], &items[at - 1]) == Ordering::Less {
                items.swap(at, at - 1);
                at -= 1;
            }
        }
        return;
    }
    let mut order: Vec<usize> = (0..items.len()).collect();
    sort_positions(&mut order, &mut |a, b| compare(&items[a], &items[b]));
    // `order[k]` is the position of the element that belongs at `k`: follow each cycle, swapping, and mark each
    // place as done (`order[k] == k`) once it holds its element.
    for start in 0..order.len() {
        let mut at = start;
        while order[at] != at {
            let from = order[at];
            order[at] = at;
            if from == start {
                break;
            }
            items.swap(at, from);
            at = from;
        }
    }
}

/// Sorts `items` by the key `key` gives each, keeping equal elements in their order.
pub fn sort_by_key<T, K: Ord>(items: &mut [T], mut key: impl FnMut(&T) -> K) {
    sort_by(items, |a, b| key(a).cmp(&key(b)));
}

/// A bottom-up merge sort (stable: of two equal elements the left one goes first), written here because the standard
/// library's is several KB of wasm even for one type.
#[inline(never)]
fn sort_positions(order: &mut [usize], compare: &mut dyn FnMut(usize, usize) -> Ordering) {
    let n = order.len();
    let mut from = order.to_vec();
    let mut to = vec![0; n];
    let mut width = 1;
    while width < n {
        let mut start = 0;
        while start < n {
            let (middle, end) = ((start + width).min(n), (start + 2 * width).min(n));
            let (mut left, mut right, mut at) = (start, middle, start);
            while left < middle && right < end {
                if compare(from[right], from[left]) == Ordering::Less {
                    to[at] = from[right];
                    right += 1;
                } else {
                    to[at] = from[left];
                    left += 1;
                }
                at += 1;
            }
            to[at..at + (middle - left)].copy_from_slice(&from[left..middle]);
            at += middle - left;
            to[at..end].copy_from_slice(&from[right..end]);
            start = end;
        }
        std::mem::swap(&mut from, &mut to);
        width *= 2;
    }
    order.copy_from_slice(&from);
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    proptest! {
        /// The same order as the standard library's stable sort, ties included.
        #[test]
        fn sorts_like_the_standard_stable_sort(items in proptest::collection::vec((0u8..8, any::<u16>()), 0..600)) {
            let mut ours = items.clone();
            super::sort_by_key(&mut ours, |item| item.0);
            let mut theirs = items;
            theirs.sort_by_key(|item| item.0);
            prop_assert_eq!(ours, theirs);
        }
    }
}
