//! Generates `impl Event` and the registry entry from a valid `#[derive(Event)]` model.

use proc_macro2::{Literal, TokenStream};
use quote::{quote, quote_spanned};

use super::ast::{Input, Shape};

pub(crate) fn expand(input: &Input) -> TokenStream {
    let krate = &input.crate_path;
    let ident = input.ident;
    let event_types = input.event_types().iter().map(|event_type| {
        let name = &event_type.name.value;
        let version = Literal::u32_unsuffixed(event_type.version);
        quote!(#krate::EventType::new(#name, #version))
    });
    let (event_type_arms, encode, decode) = match &input.shape {
        Shape::Enum(types) => {
            let event_type_arms = types.iter().enumerate().map(|(index, event_type)| {
                let variant = event_type.variant;
                let index = Literal::usize_unsuffixed(index);
                quote!(Self::#variant { .. } => &Self::EVENT_TYPES[#index],)
            });
            let index_arms = types.iter().enumerate().map(|(index, event_type)| {
                let name = &event_type.name.value;
                let index = Literal::usize_unsuffixed(index);
                quote!(#name => #index,)
            });
            let event_type = quote!(match self { #(#event_type_arms)* });
            let encode = quote!(#krate::Payload::encode_variant_content_as(self, format));
            let decode = quote! {
                let variant_index: u32 = match event_type {
                    #(#index_arms)*
                    _ => return ::core::result::Result::Err(
                        #krate::DecodeFailure::unknown_type::<Self>(event_type),
                    ),
                };
                ::core::result::Result::Ok(payload.decode_variant::<Self>(variant_index)?)
            };
            (event_type, encode, decode)
        }
        Shape::Struct(event_type) => {
            let name = &event_type.name.value;
            let encode = quote!(#krate::Payload::encode_as(self, format));
            let decode = quote! {
                if event_type != #name {
                    return ::core::result::Result::Err(
                        #krate::DecodeFailure::unknown_type::<Self>(event_type),
                    );
                }
                ::core::result::Result::Ok(payload.decode::<Self>()?)
            };
            (quote!(&Self::EVENT_TYPES[0]), encode, decode)
        }
        Shape::Union(_) => return TokenStream::new(),
    };
    // Spanned on the type's name so that a missing `Debug` is reported there.
    let registration = quote_spanned! {ident.span()=>
        #krate::EventRegistration::of::<#ident>()
    };
    quote! {
        #[automatically_derived]
        impl #krate::Event for #ident {
            const EVENT_TYPES: &'static [#krate::EventType] = &[#(#event_types),*];

            fn event_type(&self) -> &'static #krate::EventType {
                #event_type_arms
            }

            fn encode(&self) -> ::core::result::Result<#krate::Payload, #krate::PayloadError> {
                #krate::Event::encode_as(self, #krate::PayloadFormat::Json)
            }

            fn encode_as(
                &self,
                format: #krate::PayloadFormat,
            ) -> ::core::result::Result<#krate::Payload, #krate::PayloadError> {
                #encode
            }

            fn decode(
                event_type: &str,
                payload: &#krate::Payload,
            ) -> ::core::result::Result<Self, #krate::DecodeFailure> {
                <Self as #krate::Event>::decode_ref(event_type, payload.as_payload_ref())
            }

            fn decode_ref(
                event_type: &str,
                payload: #krate::PayloadRef<'_>,
            ) -> ::core::result::Result<Self, #krate::DecodeFailure> {
                #decode
            }
        }

        #krate::__private::inventory::submit! {
            #registration
        }
    }
}
