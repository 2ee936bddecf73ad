//! `#[register]` on an `impl Projection`, `impl Policy` or `impl EventHandler` block, or on
//! the inherent impl block a `#[projection]` or `#[policy]` below it turns into one: passes
//! the block through and submits the type's `HandlerRegistration` to `inventory`.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::parse::Parser;
use syn::spanned::Spanned;
use syn::{ItemImpl, Path};

use crate::crate_path::CratePath;
use crate::ctxt::Errors;
use crate::meta_keys;

/// What `#[register(...)]` says.
#[derive(Default)]
struct RegisterArgs {
    build: Option<Path>,
    crate_path: Option<Path>,
}

/// The trait the registered block implements.
#[derive(Clone, Copy)]
enum Kind {
    Projection,
    Policy,
    EventHandler,
}

pub(crate) fn expand(args: TokenStream, input: TokenStream) -> TokenStream {
    let errors = Errors::new();
    let args = parse_args(args, &errors);
    let item = match syn::parse2::<ItemImpl>(input.clone()) {
        Ok(item) => item,
        Err(_) => {
            errors.spanned(
                &input,
                "#[register] goes on an `impl Projection for T`, `impl Policy for T` or `impl \
                 EventHandler for T` block",
            );
            return errors.emit_after(input);
        }
    };
    let kind = kind_of(&item, &errors);
    if item.generics.lt_token.is_some() || item.generics.where_clause.is_some() {
        errors.spanned(
            &item.generics,
            "#[register] needs a concrete type: it builds one handler of that type at start-up; \
             register each instantiation with its own non-generic impl, or add it by hand with \
             `bus.projection(...)`, `bus.policy(...)` or `bus.handler(...)`",
        );
    }
    let Some(kind) = kind.filter(|_| !errors.any()) else {
        return errors.emit_after(input);
    };
    let krate = CratePath::new(args.crate_path);
    let self_ty = &item.self_ty;
    let (constructor, built) = match kind {
        Kind::Projection => (quote!(projection), quote!(built_projection)),
        Kind::Policy => (quote!(policy), quote!(built_policy)),
        Kind::EventHandler => (quote!(event_handler), quote!(built_event_handler)),
    };
    let (param, construct) = match &args.build {
        Some(build) => (
            quote!(resources),
            quote_spanned!(build.span()=>
                #build(resources).map_err(::core::convert::Into::into)
            ),
        ),
        // Spanned on the type, where a type without `Default` is reported.
        None => (
            quote!(_),
            quote_spanned!(self_ty.span()=>
                ::core::result::Result::Ok(<#self_ty as ::core::default::Default>::default())
            ),
        ),
    };
    quote! {
        #item

        #krate::__private::inventory::submit! {
            #krate::HandlerRegistration::#constructor::<#self_ty>(|#param| {
                #krate::HandlerRegistration::#built::<#self_ty>(#construct)
            })
        }
    }
}

fn parse_args(args: TokenStream, errors: &Errors) -> RegisterArgs {
    let mut parsed = RegisterArgs::default();
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("build") {
            let build = errors.ok(meta.value().and_then(|value| value.parse()));
            meta_keys::set_once(errors, &meta, &mut parsed.build, build);
        } else if meta.path.is_ident("crate") {
            let path = errors.ok(CratePath::parse_value(&meta));
            meta_keys::set_once(errors, &meta, &mut parsed.crate_path, path);
        } else {
            meta_keys::unknown(errors, &meta, "register", &["build", "crate"])?;
        }
        Ok(())
    });
    errors.ok(parser.parse2(args));
    parsed
}

fn kind_of(item: &ItemImpl, errors: &Errors) -> Option<Kind> {
    let expected = "#[register] goes on an `impl Projection for T`, `impl Policy for T` or `impl \
                    EventHandler for T` block";
    let Some((path, _)) = &item.trait_ else {
        // `#[projection]` or `#[policy]` below, not yet expanded, writes the trait impl.
        let written_by = item.attrs.iter().find_map(|attr| {
            let last = attr.path().segments.last()?;
            if last.ident == "projection" {
                Some(Kind::Projection)
            } else if last.ident == "policy" {
                Some(Kind::Policy)
            } else {
                None
            }
        });
        if written_by.is_none() {
            errors.spanned(
                &item.self_ty,
                format!(
                    "{expected}, not on an inherent impl (unless it is written with \
                     #[projection(...)] or #[policy(...)])"
                ),
            );
        }
        return written_by;
    };
    let last = path
        .segments
        .last()
        .map(|segment| segment.ident.to_string());
    match last.as_deref() {
        Some("Projection") => Some(Kind::Projection),
        Some("Policy") => Some(Kind::Policy),
        Some("EventHandler") => Some(Kind::EventHandler),
        _ => {
            errors.spanned(
                path,
                format!("{expected}; this one implements another trait"),
            );
            None
        }
    }
}
