//! `#[derive(Event)]`: the stored type name and schema version of each event type, `impl
//! Event`, and the type's entry in the process-wide event registry.

mod ast;
mod attr;
mod expand;
mod valid;

use proc_macro2::TokenStream;
use syn::DeriveInput;

use crate::ctxt::Errors;

pub(crate) fn derive(input: &DeriveInput) -> syn::Result<TokenStream> {
    let errors = Errors::new();
    let model = ast::Input::from_syn(input, &errors);
    valid::check(&model, &errors);
    errors.finish()?;
    Ok(expand::expand(&model))
}
