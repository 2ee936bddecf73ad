//! The path generated code names eventful-core by: `::eventful_core` unless the user renamed
//! the dependency and said so with `crate = "..."` (as serde's `#[serde(crate = "...")]`).

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};
use syn::meta::ParseNestedMeta;
use syn::{LitStr, Path};

/// Where generated code finds eventful-core.
#[derive(Clone)]
pub(crate) struct CratePath(Option<Path>);

impl CratePath {
    pub(crate) fn new(path: Option<Path>) -> Self {
        Self(path)
    }

    /// Parses the value of `crate = "path"` or `crate = path`.
    pub(crate) fn parse_value(meta: &ParseNestedMeta) -> syn::Result<Path> {
        let value = meta.value()?;
        if value.peek(LitStr) {
            value.parse::<LitStr>()?.parse()
        } else {
            value.call(Path::parse_mod_style)
        }
    }
}

impl ToTokens for CratePath {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        match &self.0 {
            Some(path) => path.to_tokens(tokens),
            None => tokens.extend(quote!(::eventful_core)),
        }
    }
}
