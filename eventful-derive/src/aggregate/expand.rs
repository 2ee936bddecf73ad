//! Generates `impl Aggregate` from a valid `#[aggregate]` model: `handle` and `apply` are
//! each one exhaustive `match` with an arm per handler and no wildcard, so a variant without
//! a handler is rustc's E0004 naming it.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Member, ReturnType};

use super::ast::{Aggregate, Handler};
use super::attr::Role;
use crate::crate_path::CratePath;

pub(crate) fn expand(aggregate: &Aggregate) -> TokenStream {
    let args = &aggregate.args;
    let (Some(name), Some(id), Some(command), Some(event), Some(error)) = (
        &args.name,
        &args.id,
        &args.command,
        &args.event,
        &args.error,
    ) else {
        return TokenStream::new();
    };
    let krate = CratePath::new(args.crate_path.clone());
    let item = &aggregate.item;
    let self_ty = &item.self_ty;
    let (impl_generics, _, where_clause) = item.generics.split_for_impl();
    let name = &name.value;
    let snapshot_revision = args.snapshot_revision.map(|revision| {
        let revision = proc_macro2::Literal::u32_unsuffixed(revision);
        quote!(const SNAPSHOT_REVISION: u32 = #revision;)
    });
    let handle_arms = arms(aggregate, Role::Handle);
    let apply_arms = arms(aggregate, Role::Apply);
    // The scrutinees carry the spans of `command = ...` and `event = ...`, so that a variant
    // without a handler is reported on the type that declares it.
    let command_scrutinee = quote_spanned!(command.span()=> command);
    let event_scrutinee = quote_spanned!(event.span()=> event);
    quote! {
        #item

        #[automatically_derived]
        impl #impl_generics #krate::Aggregate for #self_ty #where_clause {
            const TYPE: #krate::TypeName = #krate::TypeName::from_static(#name);
            #snapshot_revision
            type Id = #id;
            type Command = #command;
            type Event = #event;
            type Error = #error;

            fn handle(
                &self,
                command: &#command,
            ) -> ::core::result::Result<::std::vec::Vec<#event>, #error> {
                match #command_scrutinee {
                    #(#handle_arms)*
                }
            }

            fn apply(&mut self, event: &#event) {
                match #event_scrutinee {
                    #(#apply_arms)*
                }
            }
        }
    }
}

/// An `impl Aggregate` that never runs, emitted beside this macro's errors when the types are
/// known, so that code using the aggregate reports nothing more.
pub(crate) fn fallback(aggregate: &Aggregate) -> TokenStream {
    let args = &aggregate.args;
    let (Some(id), Some(command), Some(event), Some(error)) =
        (&args.id, &args.command, &args.event, &args.error)
    else {
        return TokenStream::new();
    };
    let krate = CratePath::new(args.crate_path.clone());
    let self_ty = &aggregate.item.self_ty;
    let (impl_generics, _, where_clause) = aggregate.item.generics.split_for_impl();
    quote! {
        impl #impl_generics #krate::Aggregate for #self_ty #where_clause {
            const TYPE: #krate::TypeName = #krate::TypeName::from_static("invalid");
            type Id = #id;
            type Command = #command;
            type Event = #event;
            type Error = #error;

            fn handle(
                &self,
                _: &#command,
            ) -> ::core::result::Result<::std::vec::Vec<#event>, #error> {
                ::core::unreachable!()
            }

            fn apply(&mut self, _: &#event) {
                ::core::unreachable!()
            }
        }
    }
}

fn arms(aggregate: &Aggregate, role: Role) -> Vec<TokenStream> {
    aggregate
        .handlers
        .iter()
        .filter(|handler| handler.role == role)
        .map(arm)
        .collect()
}

/// `Path { field: field, .. } => self.method(field),`: the fields bound by the parameters'
/// names (spanned on the parameters, where a wrong name is reported), or by position for
/// `Path(..)`.
fn arm(handler: &Handler) -> TokenStream {
    let path = &handler.target.path;
    let method = &handler.sig.ident;
    let bindings = handler.params.iter().enumerate().map(|(position, ident)| {
        if handler.target.positional {
            let mut index = syn::Index::from(position);
            index.span = ident.span();
            let member = Member::Unnamed(index);
            quote!(#member: #ident)
        } else {
            ident.to_token_stream()
        }
    });
    let args = &handler.params;
    // Spanned on the return type (if any), where a handler returning another type is reported.
    let span = match &handler.sig.output {
        ReturnType::Type(_, ty) => ty.span(),
        ReturnType::Default => method.span(),
    };
    let call = quote_spanned!(span=> self.#method(#(#args),*));
    // The block's braces keep rustc from suggesting a missing arm inside the user's method.
    quote!(#path { #(#bindings,)* .. } => { #call })
}
