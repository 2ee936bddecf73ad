#[automatically_derived]
impl ::eventful_core::Event for PlayerCreatedEvent {
    const EVENT_TYPES: &'static [::eventful_core::EventType] = &[
        ::eventful_core::EventType::new("player_created", 1),
    ];
    fn event_type(&self) -> &'static ::eventful_core::EventType {
        &Self::EVENT_TYPES[0]
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
        ::eventful_core::Payload::encode_as(self, format)
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
        if event_type != "player_created" {
            return ::core::result::Result::Err(
                ::eventful_core::DecodeFailure::unknown_type::<Self>(event_type),
            );
        }
        ::core::result::Result::Ok(payload.decode::<Self>()?)
    }
}
::eventful_core::__private::inventory::submit! {
    ::eventful_core::EventRegistration::of:: < PlayerCreatedEvent > ()
}
