//! The model `#[derive(Event)]` works from: the type, and the event types it produces with
//! their stored names and schema versions, built from `syn` once.

use proc_macro2::Span;
use syn::{Data, DeriveInput, Generics, Ident};

use super::attr::{self, Place};
use crate::crate_path::CratePath;
use crate::ctxt::Errors;
use crate::stored_name::StoredName;

pub(crate) struct Input<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) generics: &'a Generics,
    pub(crate) crate_path: CratePath,
    pub(crate) shape: Shape<'a>,
}

pub(crate) enum Shape<'a> {
    /// One event type per variant, in declaration order.
    Enum(Vec<EventType<'a>>),
    /// A struct that is one event type on its own.
    Struct(EventType<'a>),
    /// Not something an event can be; the span of the `union` keyword.
    Union(Span),
}

/// One stored event type: a variant of an enum, or a whole struct.
pub(crate) struct EventType<'a> {
    /// The variant; `None` for a struct.
    pub(crate) variant: Option<&'a Ident>,
    pub(crate) name: StoredName,
    pub(crate) version: u32,
}

impl<'a> Input<'a> {
    pub(crate) fn from_syn(input: &'a DeriveInput, errors: &Errors) -> Self {
        let shape = match &input.data {
            Data::Enum(data) => {
                let enum_attrs = attr::parse(&input.attrs, Place::Enum, errors);
                let types = data
                    .variants
                    .iter()
                    .map(|variant| {
                        let attrs = attr::parse(&variant.attrs, Place::Variant, errors);
                        attr::reject_on_fields(&variant.fields, errors);
                        EventType {
                            variant: Some(&variant.ident),
                            name: attrs
                                .rename
                                .unwrap_or_else(|| StoredName::derived(&variant.ident, None)),
                            version: attrs.version.or(enum_attrs.version).unwrap_or(1),
                        }
                    })
                    .collect();
                return Self::new(input, enum_attrs.crate_path, Shape::Enum(types));
            }
            Data::Struct(data) => {
                attr::reject_on_fields(&data.fields, errors);
                let attrs = attr::parse(&input.attrs, Place::Struct, errors);
                let event_type = EventType {
                    variant: None,
                    name: attrs
                        .rename
                        .unwrap_or_else(|| StoredName::derived(&input.ident, Some("Event"))),
                    version: attrs.version.unwrap_or(1),
                };
                return Self::new(input, attrs.crate_path, Shape::Struct(event_type));
            }
            Data::Union(data) => Shape::Union(data.union_token.span),
        };
        Self::new(input, None, shape)
    }

    fn new(input: &'a DeriveInput, crate_path: Option<syn::Path>, shape: Shape<'a>) -> Self {
        Self {
            ident: &input.ident,
            generics: &input.generics,
            crate_path: CratePath::new(crate_path),
            shape,
        }
    }

    /// The event types, in declaration order.
    pub(crate) fn event_types(&self) -> &[EventType<'a>] {
        match &self.shape {
            Shape::Enum(types) => types,
            Shape::Struct(event_type) => std::slice::from_ref(event_type),
            Shape::Union(_) => &[],
        }
    }
}
