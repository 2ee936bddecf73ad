//! `#[derive(Command)]`: which aggregate a command addresses and which field carries the id of
//! the instance.

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
