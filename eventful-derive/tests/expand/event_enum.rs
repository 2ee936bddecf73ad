#[automatically_derived]
impl ::eventful_core::Event for PlayerEvent {
    const EVENT_TYPES: &'static [::eventful_core::EventType] = &[
        ::eventful_core::EventType::new("player_created", 1),
        ::eventful_core::EventType::new("xp_gained", 2),
        ::eventful_core::EventType::new("retired", 2),
    ];
    fn event_type(&self) -> &'static ::eventful_core::EventType {
        match self {
            Self::Created { .. } => &Self::EVENT_TYPES[0],
            Self::XpGained { .. } => &Self::EVENT_TYPES[1],
            Self::Retired { .. } => &Self::EVENT_TYPES[2],
        }
    }
    fn encode(
        &self,
    ) -> ::core::result::Result<
        ::eventful_core::Payload,
        ::eventful_core::PayloadError,
    > {
        ::eventful_core::Event::encode_as(self, ::eventful_core::PayloadFormat::Json)
    }
    fn encode_as(
        &self,
        format: ::eventful_core::PayloadFormat,
    ) -> ::core::result::Result<
        ::eventful_core::Payload,
        ::eventful_core::PayloadError,
    > {
        ::eventful_core::Payload::encode_variant_content_as(self, format)
    }
    fn decode(
        event_type: &str,
        payload: &::eventful_core::Payload,
    ) -> ::core::result::Result<Self, ::eventful_core::DecodeFailure> {
        <Self as ::eventful_core::Event>::decode_ref(
            event_type,
            payload.as_payload_ref(),
        )
    }
    fn decode_ref(
        event_type: &str,
        payload: ::eventful_core::PayloadRef<'_>,
    ) -> ::core::result::Result<Self, ::eventful_core::DecodeFailure> {
        let variant_index: u32 = match event_type {
            "player_created" => 0,
            "xp_gained" => 1,
            "retired" => 2,
            _ => {
                return ::core::result::Result::Err(
                    ::eventful_core::DecodeFailure::unknown_type::<Self>(event_type),
                );
            }
        };
        ::core::result::Result::Ok(payload.decode_variant::<Self>(variant_index)?)
    }
}
::eventful_core::__private::inventory::submit! {
    ::eventful_core::EventRegistration::of:: < PlayerEvent > ()
}
