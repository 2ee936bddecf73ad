//! The model `#[derive(Command)]` works from: the aggregate it addresses and, for the struct
//! or for each variant, the fields marked `#[aggregate_id]`.

use proc_macro2::Span;
use syn::{Attribute, Data, DeriveInput, Fields, Generics, Ident, Member, Type};

use super::attr;
use crate::crate_path::CratePath;
use crate::ctxt::Errors;

pub(crate) struct Input<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) generics: &'a Generics,
    pub(crate) aggregate: Option<Type>,
    pub(crate) crate_path: CratePath,
    pub(crate) shape: Shape<'a>,
}

pub(crate) enum Shape<'a> {
    Struct(Target<'a>),
    Enum(Vec<Target<'a>>),
    /// The span of the `union` keyword.
    Union(Span),
}

/// The struct, or one variant: where its id can be.
pub(crate) struct Target<'a> {
    /// The variant; `None` for a struct.
    pub(crate) variant: Option<&'a Ident>,
    pub(crate) fields: &'a Fields,
    /// The fields marked `#[aggregate_id]`, with their marks.
    pub(crate) ids: Vec<IdField<'a>>,
}

pub(crate) struct IdField<'a> {
    pub(crate) member: Member,
    pub(crate) ty: &'a Type,
    pub(crate) mark: &'a Attribute,
}

impl<'a> Input<'a> {
    pub(crate) fn from_syn(input: &'a DeriveInput, errors: &Errors) -> Self {
        let attrs = attr::parse(&input.attrs, errors);
        let shape = match &input.data {
            Data::Struct(data) => Shape::Struct(Target::new(None, &data.fields, errors)),
            Data::Enum(data) => Shape::Enum(
                data.variants
                    .iter()
                    .map(|variant| {
                        for mark in variant.attrs.iter().filter(|a| attr::is_aggregate_id(a)) {
                            errors.spanned(
                                mark,
                                "#[aggregate_id] goes on a field of the variant, not on the \
                                 variant itself",
                            );
                        }
                        Target::new(Some(&variant.ident), &variant.fields, errors)
                    })
                    .collect(),
            ),
            Data::Union(data) => Shape::Union(data.union_token.span),
        };
        Self {
            ident: &input.ident,
            generics: &input.generics,
            aggregate: attrs.aggregate,
            crate_path: CratePath::new(attrs.crate_path),
            shape,
        }
    }
}

impl<'a> Target<'a> {
    fn new(variant: Option<&'a Ident>, fields: &'a Fields, errors: &Errors) -> Self {
        let ids = fields
            .iter()
            .zip(fields.members())
            .flat_map(|(field, member)| {
                attr::aggregate_id_marks(&field.attrs, errors)
                    .into_iter()
                    .map(move |mark| IdField {
                        member: member.clone(),
                        ty: &field.ty,
                        mark,
                    })
            })
            .collect();
        Self {
            variant,
            fields,
            ids,
        }
    }
}
