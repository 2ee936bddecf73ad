//! Generates `impl Projection` or `impl Policy` from a valid model: one `match` on the
//! payload with an arm per handler and a wildcard (unlike an aggregate, a read model or a
//! policy handles only the variants it needs), each handler's outcome turned into
//! `Result<(), BoxError>`.

use proc_macro2::{Ident, Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{LitStr, ReturnType, Signature};

use super::Kind;
use super::ast::{Consumer, Handler, ParamRole};
use crate::crate_path::CratePath;

/// The name of the trait method's envelope parameter, at `at`: hygienic, so that a field
/// named `event` bound by a handler's pattern cannot shadow it.
fn envelope(at: Span) -> Ident {
    Ident::new("event", Span::mixed_site().located_at(at))
}

/// The name of `react`'s reaction parameter, hygienic as [`envelope`]'s.
fn reaction(at: Span) -> Ident {
    Ident::new("reaction", Span::mixed_site().located_at(at))
}

/// What goes inside the generated impl besides `type Event` and `name`.
struct Body {
    name: LitStr,
    /// The body of `apply` or `react`.
    dispatch: TokenStream,
    /// The body of `reset` (a projection's).
    reset: TokenStream,
}

pub(crate) fn expand(consumer: &Consumer) -> TokenStream {
    let (Some(event), Some(name)) = (&consumer.args.event, &consumer.args.name) else {
        return TokenStream::new();
    };
    let krate = CratePath::new(consumer.args.crate_path.clone());
    let handler_outcome = Ident::new("HandlerOutcome", Span::call_site());
    let handler_outcome_trait = outcome_trait(
        consumer.kind,
        consumer.kind.handler(),
        &handler_outcome,
        consumer.handlers.iter().map(|handler| &handler.sig),
        &krate,
    );
    let arms = consumer
        .handlers
        .iter()
        .map(|handler| arm(handler, &handler_outcome));
    // Spanned on `event = ...`, where a pattern of another type says what it was matched with.
    let scrutinee = envelope(event.span());
    let payload = quote_spanned!(event.span()=> &#scrutinee.payload);
    let dispatch = quote! {
        match #payload {
            #(#arms)*
            #[allow(unreachable_patterns)]
            _ => ::core::result::Result::Ok(()),
        }
    };
    let reset_outcome = Ident::new("ResetOutcome", Span::call_site());
    let (reset, reset_outcome_trait) = match consumer.resets.first() {
        Some(reset) => (
            outcome_of(&reset.sig, TokenStream::new(), &reset_outcome),
            outcome_trait(
                consumer.kind,
                "the #[reset] method",
                &reset_outcome,
                std::iter::once(&reset.sig),
                &krate,
            ),
        ),
        None => (quote!(::core::result::Result::Ok(())), TokenStream::new()),
    };
    let body = Body {
        name: name.clone(),
        dispatch,
        reset,
    };
    let item = &consumer.item;
    let register = &consumer.register;
    let implementation = implementation(consumer, event, &krate, body);
    let probes: TokenStream = consumer
        .handlers
        .iter()
        .map(|handler| {
            handler
                .target
                .tuple_variant_probe(&handler.field_idents(), event, "on")
        })
        .collect();
    // In a block with the traits it calls through, which messages then name `_::...`.
    quote! {
        #item

        const _: () = {
            #handler_outcome_trait
            #reset_outcome_trait

            #(#register)*
            #implementation
        };

        #probes
    }
}

/// An impl that never runs, emitted beside this macro's errors when the event type is known,
/// so that code using the type (`#[register]`, `bus.projection(...)`) reports nothing more.
pub(crate) fn fallback(consumer: &Consumer) -> TokenStream {
    let Some(event) = &consumer.args.event else {
        return TokenStream::new();
    };
    let krate = CratePath::new(consumer.args.crate_path.clone());
    let body = Body {
        name: LitStr::new("invalid", Span::call_site()),
        dispatch: quote!(::core::unreachable!()),
        reset: quote!(::core::unreachable!()),
    };
    implementation(consumer, event, &krate, body)
}

fn implementation(
    consumer: &Consumer,
    event: &syn::Type,
    krate: &CratePath,
    body: Body,
) -> TokenStream {
    let self_ty = &consumer.item.self_ty;
    let (impl_generics, _, where_clause) = consumer.item.generics.split_for_impl();
    let Body {
        name,
        dispatch,
        reset,
    } = body;
    let envelope = envelope(Span::call_site());
    let reaction = reaction(Span::call_site());
    let result = quote!(::core::result::Result<(), #krate::BoxError>);
    let (trait_name, methods) = match consumer.kind {
        Kind::Projection => (
            quote!(Projection),
            quote! {
                async fn apply(&self, #envelope: &#krate::RecordedEvent<#event>) -> #result {
                    #dispatch
                }

                async fn reset(&self) -> #result {
                    #reset
                }
            },
        ),
        Kind::Policy => (
            quote!(Policy),
            quote! {
                async fn react(
                    &self,
                    #envelope: &#krate::RecordedEvent<#event>,
                    #reaction: &#krate::Reaction,
                ) -> #result {
                    let _ = #reaction;
                    #dispatch
                }
            },
        ),
    };
    quote! {
        #[#krate::__private::async_trait]
        #[automatically_derived]
        impl #impl_generics #krate::#trait_name for #self_ty #where_clause {
            type Event = #event;

            fn name(&self) -> &str {
                #name
            }

            #methods
        }
    }
}

/// `Path { field, .. } => outcome(self.method(field, event)),`.
fn arm(handler: &Handler, outcome: &Ident) -> TokenStream {
    let pattern = handler.target.pattern(&handler.field_idents());
    let args = handler.params.iter().map(|param| {
        // Where a parameter of another type is reported, as for a field.
        let at = param.typed.pat.span();
        match param.role {
            ParamRole::Field => param.ident().to_token_stream(),
            ParamRole::Envelope => envelope(at).to_token_stream(),
            ParamRole::Reaction => reaction(at).to_token_stream(),
        }
    });
    let call = outcome_of(&handler.sig, quote!(#(#args),*), outcome);
    // The block's braces keep rustc from suggesting a missing arm inside the user's method.
    quote!(#pattern => { #call })
}

/// The call of the method `sig` with `args`, awaited if it is async, as a
/// `Result<(), BoxError>`: through the trait `outcome` (see [`outcome_trait`]) spanned on the
/// return type, where a method returning another type is reported, or `Ok(())` after a
/// method that declares none.
fn outcome_of(sig: &Signature, args: TokenStream, outcome: &Ident) -> TokenStream {
    let method = &sig.ident;
    match &sig.output {
        ReturnType::Type(_, ty) => {
            let awaited = sig.asyncness.map(|_| quote_spanned!(ty.span()=> .await));
            let outcome = Ident::new(&outcome.to_string(), ty.span());
            quote_spanned!(ty.span()=> #outcome::into_outcome(self.#method(#args) #awaited))
        }
        ReturnType::Default => {
            let awaited = sig.asyncness.map(|_| quote!(.await));
            quote! {
                self.#method(#args) #awaited;
                ::core::result::Result::Ok(())
            }
        }
    }
}

/// The trait `name` converting what a method (`subject`, for messages) returns into
/// `Result<(), BoxError>`, when one of `sigs` declares a return type: `()` (for a projection) and `Result<(), E>` with `E: Into<BoxError>`, anything else
/// an error saying so on the method's return type.
fn outcome_trait<'a>(
    kind: Kind,
    subject: &str,
    name: &Ident,
    mut sigs: impl Iterator<Item = &'a Signature>,
    krate: &CratePath,
) -> TokenStream {
    if !sigs.any(|sig| matches!(sig.output, ReturnType::Type(..))) {
        return TokenStream::new();
    }
    let result = quote!(::core::result::Result<(), #krate::BoxError>);
    let (returns, unit) = match kind {
        Kind::Projection => (
            "`()` or `Result<(), E>`",
            Some(quote! {
                impl #name for () {
                    fn into_outcome(self) -> #result {
                        ::core::result::Result::Ok(self)
                    }
                }
            }),
        ),
        Kind::Policy => ("`Result<(), E>`", None),
    };
    let message = format!(
        "{subject} returns {returns}, with `E` converting into `BoxError` (as most errors \
         do), not `{{Self}}`"
    );
    let label = format!("returns {returns}, not `{{Self}}`");
    quote! {
        #[diagnostic::on_unimplemented(message = #message, label = #label)]
        trait #name {
            fn into_outcome(self) -> #result;
        }
        #unit
        impl<E: ::core::convert::Into<#krate::BoxError>> #name
            for ::core::result::Result<(), E>
        {
            fn into_outcome(self) -> #result {
                self.map_err(::core::convert::Into::into)
            }
        }
    }
}
