//! The variant (or struct) a handler method takes, as `#[handle(...)]`, `#[apply(...)]` and
//! `#[on(...)]` name it: parsed from the mark, matched by a pattern that binds its fields to
//! the method's parameters, and probed so that a tuple variant named without `(..)` is an
//! error saying what to write rather than rustc's "has no field named".

use proc_macro2::{Group, Span, TokenStream, TokenTree};
use quote::{ToTokens, quote, quote_spanned};
use syn::parse::{ParseStream, Parser};
use syn::{Attribute, Ident, LitStr, Member, Path, Token, Type, token};

/// The variant (or struct) a handler takes, and how its parameters bind the fields.
pub(crate) struct Target {
    pub(crate) path: Path,
    /// `Variant(..)`: parameters bind the fields in order, not by name.
    pub(crate) positional: bool,
    pub(crate) span: Span,
}

impl Target {
    /// The path as written, for messages and for spotting two handlers of one variant.
    pub(crate) fn key(&self) -> String {
        let path = &self.path;
        quote!(#path).to_string().replace(' ', "")
    }

    /// `Path { field, .. }` binding each of `fields` by its name (spanned on the parameter,
    /// where a field the variant lacks is reported), or `Path { 0: first, .. }` by position
    /// for `Path(..)`.
    pub(crate) fn pattern(&self, fields: &[Ident]) -> TokenStream {
        let path = &self.path;
        let bindings = fields.iter().enumerate().map(|(position, ident)| {
            if self.positional {
                let mut index = syn::Index::from(position);
                index.span = ident.span();
                let member = Member::Unnamed(index);
                quote!(#member: #ident)
            } else {
                ident.to_token_stream()
            }
        });
        // The braces end where the path ends, so that a pattern of another type is reported
        // on the path the user wrote.
        let mut braces = Group::new(proc_macro2::Delimiter::Brace, quote!(#(#bindings,)* ..));
        braces.set_span(self.ends().1);
        quote!(#path #braces)
    }

    /// A check that fails, naming what to write, when this target is a tuple variant whose
    /// fields `fields` bind by name (rustc alone only says the variant has no such field).
    ///
    /// `declared` is the type the macro was told the targets belong to (`event = ...`), and
    /// `mark` the attribute (`on`, `apply`, `handle`). Nothing is generated where a mistake
    /// is impossible or not this one: positional targets, handlers binding no field, structs,
    /// and paths whose prefix is not a type.
    ///
    /// How: `<Enum>::Variant` as a value is the variant's constructor for a tuple variant, the
    /// enum itself for a unit variant, and, for a struct variant (which is no value), falls
    /// back to an associated const of a local trait implemented for every type. The check
    /// accepts the last two only.
    pub(crate) fn tuple_variant_probe(
        &self,
        fields: &[Ident],
        declared: &Type,
        mark: &str,
    ) -> TokenStream {
        if self.positional || fields.is_empty() {
            return TokenStream::new();
        }
        let Some(enum_ty) = self.enum_type(declared) else {
            return TokenStream::new();
        };
        let Some(variant) = self.path.segments.last().map(|segment| &segment.ident) else {
            return TokenStream::new();
        };
        let key = self.key();
        let message = LitStr::new(
            &format!(
                "`{key}` is a tuple variant, whose fields have no names to bind by: write \
                 `#[{mark}({key}(..))]`, and the parameters bind its fields in order"
            ),
            self.span,
        );
        let label = LitStr::new(&format!("write `{key}(..)`"), self.span);
        // Spanned from the path's first token to its last, so that rustc underlines it whole.
        let (first, last) = self.ends();
        let enum_ty = respan(enum_ty, first);
        let mut variant = variant.clone();
        variant.set_span(last);
        let mut argument = Group::new(
            proc_macro2::Delimiter::Parenthesis,
            quote_spanned!(first=> &<#enum_ty>::#variant),
        );
        argument.set_span(last);
        // The callee spans the path too (its `>` ends where the path ends), so that rustc
        // gives the call one label, not a second "required by a bound introduced by this call".
        let mut closing = proc_macro2::Punct::new('>', proc_macro2::Spacing::Alone);
        closing.set_span(last);
        let check = quote_spanned!(first=> named_fields::<_ #closing (Variant #argument));
        quote! {
            #[allow(dead_code, non_upper_case_globals)]
            const _: () = {
                struct Fallback;
                struct Variant<V>(V);
                #[diagnostic::on_unimplemented(message = #message, label = #label)]
                trait NamedFields {}
                #[diagnostic::do_not_recommend]
                impl NamedFields for Variant<&Fallback> {}
                #[diagnostic::do_not_recommend]
                impl NamedFields for Variant<&#enum_ty> {}
                trait StructVariant {
                    const #variant: Fallback = Fallback;
                }
                impl<T: ?Sized> StructVariant for T {}
                fn named_fields<V: NamedFields>(_: V) {}
                fn probe() {
                    #check;
                }
            };
        }
    }

    /// The spans of the path's first and last tokens: generated code spanned from one to the
    /// other is reported on the whole path.
    fn ends(&self) -> (Span, Span) {
        let mut spans = self
            .path
            .to_token_stream()
            .into_iter()
            .map(|tree| tree.span());
        let first = spans.next().unwrap_or(self.span);
        (first, spans.last().unwrap_or(first))
    }

    /// The enum this target is a variant of, when it is one: `declared` itself if the prefix
    /// names it (it may carry generic arguments the path leaves out), else the prefix. `None`
    /// for a struct (the path is the declared type, or a lone name) and for a prefix that is
    /// not a type by its name (a module: `events::GameCompleted`).
    fn enum_type(&self, declared: &Type) -> Option<TokenStream> {
        let segments = &self.path.segments;
        let declared_name = match declared {
            Type::Path(path) => path.path.segments.last().map(|segment| &segment.ident),
            _ => None,
        };
        let last = &segments.last()?.ident;
        if segments.len() < 2 || declared_name == Some(last) {
            return None;
        }
        let prefix = &segments[segments.len() - 2].ident;
        if declared_name == Some(prefix) {
            return Some(declared.to_token_stream());
        }
        let looks_like_type = prefix
            .to_string()
            .trim_start_matches("r#")
            .starts_with(char::is_uppercase);
        if !looks_like_type || prefix == "Self" {
            return None;
        }
        let mut prefix_path = self.path.clone();
        prefix_path.segments.pop();
        prefix_path.segments.pop_punct();
        Some(prefix_path.to_token_stream())
    }
}

/// `tokens` with every span set to `span`, so that an error on them points at one place.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tree| {
            if let TokenTree::Group(group) = &tree {
                let mut respanned = Group::new(group.delimiter(), respan(group.stream(), span));
                respanned.set_span(span);
                tree = TokenTree::Group(respanned);
            } else {
                tree.set_span(span);
            }
            tree
        })
        .collect()
}

/// Parses the inside of `#[mark(Path)]` or `#[mark(Path(..))]`; `example` is the attribute
/// written out, for the message when there is nothing inside.
pub(crate) fn parse(attr: &Attribute, mark: &str, example: &str) -> syn::Result<Target> {
    let syn::Meta::List(list) = &attr.meta else {
        return Err(syn::Error::new_spanned(
            attr,
            format!("#[{mark}] names the variant this method takes, e.g. `{example}`"),
        ));
    };
    let span = syn::spanned::Spanned::span(&list.tokens);
    let parse = |input: ParseStream| {
        let path: Path = input.parse()?;
        let positional = input.peek(token::Paren);
        if positional {
            let content;
            syn::parenthesized!(content in input);
            content.parse::<Token![..]>().map_err(|_| {
                content.error(
                    "write `(..)` after a tuple variant: its fields bind to the method's \
                     parameters in order",
                )
            })?;
        }
        Ok(Target {
            path,
            positional,
            span,
        })
    };
    parse.parse2(list.tokens.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(tokens: TokenStream) -> Target {
        let attr: Attribute = syn::parse_quote!(#[on(#tokens)]);
        parse(&attr, "on", "#[on(PlayerEvent::XpGained)]").expect("a target")
    }

    fn fields(names: &[&str]) -> Vec<Ident> {
        names
            .iter()
            .map(|name| Ident::new(name, Span::call_site()))
            .collect()
    }

    fn probe(tokens: TokenStream, bound: &[&str]) -> String {
        let declared: Type = syn::parse_quote!(crate::events::PlayerEvent);
        target(tokens)
            .tuple_variant_probe(&fields(bound), &declared, "on")
            .to_string()
    }

    #[test]
    fn a_variant_binding_fields_by_name_is_probed_on_the_declared_type() {
        let probe = probe(quote!(PlayerEvent::Renamed), &["name"]);
        assert!(
            probe.contains("< crate :: events :: PlayerEvent > :: Renamed"),
            "{probe}"
        );
        assert!(probe.contains("#[on(PlayerEvent::Renamed(..))]"), "{probe}");
    }

    #[test]
    fn a_variant_of_another_enum_is_probed_on_that_enum() {
        let probe = probe(quote!(SessionEvent::Renamed), &["name"]);
        assert!(probe.contains("< SessionEvent > :: Renamed"), "{probe}");
    }

    #[test]
    fn nothing_is_probed_where_the_mistake_cannot_be_made() {
        // Positional, binding nothing, the struct event itself, a lone name, a module prefix.
        assert_eq!(probe(quote!(PlayerEvent::Renamed(..)), &["name"]), "");
        assert_eq!(probe(quote!(PlayerEvent::Renamed), &[]), "");
        assert_eq!(probe(quote!(events::PlayerEvent), &["name"]), "");
        assert_eq!(probe(quote!(Renamed), &["name"]), "");
        assert_eq!(probe(quote!(events::GameCompleted), &["score"]), "");
    }

    #[test]
    fn the_pattern_binds_by_name_or_by_position() {
        let by_name = target(quote!(PlayerEvent::Created)).pattern(&fields(&["name", "email"]));
        assert_eq!(
            by_name.to_string(),
            "PlayerEvent :: Created { name , email , .. }"
        );
        let in_order = target(quote!(PlayerEvent::Renamed(..))).pattern(&fields(&["name"]));
        assert_eq!(
            in_order.to_string(),
            "PlayerEvent :: Renamed { 0 : name , .. }"
        );
    }
}
