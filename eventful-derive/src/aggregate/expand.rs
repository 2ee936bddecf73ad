//! Generates `impl Aggregate` from a valid `#[aggregate]` model: `handle` and `apply` are
//! each one exhaustive `match` with an arm per handler and no wildcard, so a variant without
//! a handler is rustc's E0004 naming it.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::ReturnType;
use syn::spanned::Spanned;

use super::ast::{Aggregate, Handler};
use super::attr::Role;
use crate::crate_path::CratePath;

/// The aggregate's types, when `#[aggregate(...)]` gave them all.
struct Types<'a> {
    id: &'a syn::Type,
    command: &'a syn::Type,
    event: &'a syn::Type,
    error: &'a syn::Type,
}

impl<'a> Types<'a> {
    fn of(aggregate: &'a Aggregate) -> Option<Self> {
        let args = &aggregate.args;
        Some(Self {
            id: args.id.as_ref()?,
            command: args.command.as_ref()?,
            event: args.event.as_ref()?,
            error: args.error.as_ref()?,
        })
    }
}

/// What goes inside the generated `impl Aggregate`.
struct Body {
    name: String,
    snapshot_revision: Option<TokenStream>,
    handle: TokenStream,
    apply: TokenStream,
}

pub(crate) fn expand(aggregate: &Aggregate) -> TokenStream {
    let (Some(types), Some(name)) = (Types::of(aggregate), &aggregate.args.name) else {
        return TokenStream::new();
    };
    let snapshot_revision = aggregate.args.snapshot_revision.map(|revision| {
        let revision = proc_macro2::Literal::u32_unsuffixed(revision);
        quote!(const SNAPSHOT_REVISION: u32 = #revision;)
    });
    let handle_arms = arms(aggregate, Role::Handle);
    let apply_arms = arms(aggregate, Role::Apply);
    // The scrutinees carry the spans of `command = ...` and `event = ...`, so that a variant
    // without a handler is reported on the type that declares it.
    let command = quote_spanned!(types.command.span()=> command);
    let event = quote_spanned!(types.event.span()=> event);
    let body = Body {
        name: name.value.clone(),
        snapshot_revision,
        handle: quote!(match #command { #(#handle_arms)* }),
        apply: quote!(match #event { #(#apply_arms)* }),
    };
    let item = &aggregate.item;
    let implementation = impl_aggregate(aggregate, &types, body);
    let probes = tuple_variant_probes(aggregate, &types);
    quote! {
        #item

        #implementation

        #probes
    }
}

/// An `impl Aggregate` that never runs, emitted beside this macro's errors when the types are
/// known, so that code using the aggregate reports nothing more.
pub(crate) fn fallback(aggregate: &Aggregate) -> TokenStream {
    let Some(types) = Types::of(aggregate) else {
        return TokenStream::new();
    };
    let body = Body {
        name: "invalid".to_owned(),
        snapshot_revision: None,
        handle: quote!(let _ = command; ::core::unreachable!()),
        apply: quote!(let _ = event; ::core::unreachable!()),
    };
    impl_aggregate(aggregate, &types, body)
}

fn impl_aggregate(aggregate: &Aggregate, types: &Types, body: Body) -> TokenStream {
    let krate = CratePath::new(aggregate.args.crate_path.clone());
    let self_ty = &aggregate.item.self_ty;
    let (impl_generics, _, where_clause) = aggregate.item.generics.split_for_impl();
    let Types {
        id,
        command,
        event,
        error,
    } = types;
    let Body {
        name,
        snapshot_revision,
        handle,
        apply,
    } = body;
    quote! {
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
                #handle
            }

            fn apply(&mut self, event: &#event) {
                #apply
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

/// `Path { field, .. } => self.method(field),`: the fields bound by the parameters' names, or
/// by position for `Path(..)` (see [`Target::pattern`](crate::target::Target::pattern)).
fn arm(handler: &Handler) -> TokenStream {
    let method = &handler.sig.ident;
    let pattern = handler.target.pattern(&handler.params);
    let args = &handler.params;
    // Spanned on the return type (if any), where a handler returning another type is reported.
    let span = match &handler.sig.output {
        ReturnType::Type(_, ty) => ty.span(),
        ReturnType::Default => method.span(),
    };
    let call = quote_spanned!(span=> self.#method(#(#args),*));
    // The block's braces keep rustc from suggesting a missing arm inside the user's method.
    quote!(#pattern => { #call })
}

/// For each handler binding fields by name, the check that names what to write when its
/// variant is a tuple variant.
fn tuple_variant_probes(aggregate: &Aggregate, types: &Types) -> TokenStream {
    aggregate
        .handlers
        .iter()
        .map(|handler| {
            let declared = match handler.role {
                Role::Handle => types.command,
                Role::Apply => types.event,
            };
            handler
                .target
                .tuple_variant_probe(&handler.params, declared, handler.role.attribute())
        })
        .collect()
}
