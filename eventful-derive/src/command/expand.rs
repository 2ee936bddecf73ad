//! Generates `impl Command` from a valid `#[derive(Command)]` model.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::ast::{IdField, Input, Shape, Target};

pub(crate) fn expand(input: &Input) -> TokenStream {
    let krate = &input.crate_path;
    let ident = input.ident;
    let Some(aggregate) = &input.aggregate else {
        return TokenStream::new();
    };
    let (impl_generics, type_generics, where_clause) = input.generics.split_for_impl();
    let body = match &input.shape {
        Shape::Struct(target) => match id_of(target) {
            Some(id) => {
                let member = &id.member;
                // Spanned on the field's type, where a type that is not the aggregate's id is
                // reported.
                quote_spanned!(id.ty.span()=> &self.#member)
            }
            None => return TokenStream::new(),
        },
        Shape::Enum(variants) => {
            let arms = variants.iter().filter_map(|target| {
                let id = id_of(target)?;
                let variant = target.variant?;
                let member = &id.member;
                let returned = quote_spanned!(id.ty.span()=> aggregate_id);
                Some(quote!(Self::#variant { #member: aggregate_id, .. } => #returned,))
            });
            quote!(match self { #(#arms)* })
        }
        Shape::Union(_) => return TokenStream::new(),
    };
    quote! {
        #[automatically_derived]
        impl #impl_generics #krate::Command for #ident #type_generics #where_clause {
            type Aggregate = #aggregate;

            fn aggregate_id(&self) -> &<#aggregate as #krate::Aggregate>::Id {
                #body
            }
        }
    }
}

fn id_of<'t, 'a>(target: &'t Target<'a>) -> Option<&'t IdField<'a>> {
    match target.ids.as_slice() {
        [id] => Some(id),
        _ => None,
    }
}
