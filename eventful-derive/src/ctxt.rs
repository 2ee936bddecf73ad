//! Collects every mistake found in one macro input, so that a user fixes them all in one
//! compile rather than one per compile (serde's `Ctxt`).

use std::cell::RefCell;
use std::fmt::Display;

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;

/// The errors found so far in one macro input.
#[derive(Default)]
pub(crate) struct Errors {
    combined: RefCell<Option<syn::Error>>,
}

impl Errors {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Records `error`, keeping the ones before it.
    pub(crate) fn push(&self, error: syn::Error) {
        let mut combined = self.combined.borrow_mut();
        match combined.as_mut() {
            Some(previous) => previous.combine(error),
            None => *combined = Some(error),
        }
    }

    /// Records an error spanning `tokens`.
    pub(crate) fn spanned(&self, tokens: impl ToTokens, message: impl Display) {
        self.push(syn::Error::new_spanned(tokens, message));
    }

    /// Records an error at `span`.
    pub(crate) fn at(&self, span: Span, message: impl Display) {
        self.push(syn::Error::new(span, message));
    }

    /// Records the error of `result`, if any, and hands back its value.
    pub(crate) fn ok<T>(&self, result: syn::Result<T>) -> Option<T> {
        result.map_err(|error| self.push(error)).ok()
    }

    /// Whether any error was recorded.
    pub(crate) fn any(&self) -> bool {
        self.combined.borrow().is_some()
    }

    /// `tokens` followed by the errors recorded: an attribute macro emits its input even when
    /// it is wrong, so that only its own errors show, not others about the missing item.
    pub(crate) fn emit_after(self, mut tokens: TokenStream) -> TokenStream {
        if let Err(error) = self.finish() {
            tokens.extend(error.into_compile_error());
        }
        tokens
    }

    /// All the errors recorded, as one, or `Ok` when there were none.
    pub(crate) fn finish(self) -> syn::Result<()> {
        match self.combined.into_inner() {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}
