//! Expansion snapshots: what typical inputs expand to, formatted, compared with the files in
//! `tests/expand/`. Run with `EVENTFUL_EXPAND=overwrite` to write them again, then read the
//! diff.

use std::path::Path;

use proc_macro2::TokenStream;
use quote::quote;

/// Compares the formatted `tokens` with `tests/expand/{name}.rs`.
fn assert_snapshot(name: &str, tokens: TokenStream) {
    let file: syn::File = syn::parse2(tokens).expect("the expansion is valid Rust");
    let formatted = prettyplease::unparse(&file);
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/expand")
        .join(format!("{name}.rs"));
    if std::env::var_os("EVENTFUL_EXPAND").is_some_and(|value| value == "overwrite") {
        std::fs::write(&path, &formatted).expect("writes the snapshot");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        formatted == expected,
        "the expansion of `{name}` differs from {}; run with EVENTFUL_EXPAND=overwrite and \
         review the diff.\n--- got:\n{formatted}",
        path.display()
    );
}

fn derive(
    derive: fn(&syn::DeriveInput) -> syn::Result<TokenStream>,
    input: TokenStream,
) -> TokenStream {
    let input = syn::parse2(input).expect("the input is a type");
    derive(&input).expect("the input is valid")
}

fn player_event() -> TokenStream {
    quote! {
        #[derive(Event, Serialize, Deserialize, Debug)]
        #[event(version = 2)]
        pub enum PlayerEvent {
            #[event(rename = "player_created", version = 1)]
            Created(PlayerCreated),
            XpGained { amount: u64 },
            Retired,
        }
    }
}

#[test]
fn an_event_enum() {
    assert_snapshot("event_enum", derive(crate::event::derive, player_event()));
}

#[test]
fn an_event_struct() {
    let input = quote! {
        #[derive(Event, Serialize, Deserialize, Debug)]
        pub struct PlayerCreatedEvent { pub name: String }
    };
    assert_snapshot("event_struct", derive(crate::event::derive, input));
}

#[test]
fn a_command_enum() {
    let input = quote! {
        #[derive(Command)]
        #[command(aggregate = Player)]
        pub enum PlayerCommand {
            GainXp { #[aggregate_id] player_id: PlayerId, amount: u64 },
            Retire(#[aggregate_id] PlayerId),
        }
    };
    assert_snapshot("command_enum", derive(crate::command::derive, input));
}

#[test]
fn an_aggregate() {
    let args = quote! {
        name = "player", id = PlayerId, command = PlayerCommand, event = PlayerEvent,
        error = PlayerError, snapshot_revision = 2
    };
    let input = quote! {
        impl Player {
            #[handle(PlayerCommand::GainXp)]
            fn gain_xp(&self, amount: &u64) -> Result<Vec<PlayerEvent>, PlayerError> {
                Ok(vec![PlayerEvent::XpGained { amount: *amount }])
            }

            #[handle(PlayerCommand::Retire(..))]
            fn retire(&self) -> Result<Vec<PlayerEvent>, PlayerError> {
                Ok(vec![PlayerEvent::Retired])
            }

            #[apply(PlayerEvent::Created(..))]
            fn created(&mut self, created: &PlayerCreated) {
                self.name = created.name.clone();
            }

            #[apply(PlayerEvent::XpGained)]
            fn xp_gained(&mut self, amount: &u64) {
                self.xp += amount;
            }

            #[apply(PlayerEvent::Retired)]
            fn retired(&mut self) {
                self.retired = true;
            }

            fn level(&self) -> u64 {
                self.xp / 1000 + 1
            }
        }
    };
    assert_snapshot("aggregate", crate::aggregate::expand(args, input));
}

#[test]
fn a_projection() {
    let args = quote!(name = "leaderboard", event = PlayerEvent);
    let input = quote! {
        #[register]
        impl Leaderboard {
            #[on(PlayerEvent::Created(..))]
            fn created(&self, created: &PlayerCreated, event: &RecordedEvent<PlayerEvent>) {
                self.insert(event.stream_id.clone(), created.name.clone());
            }

            #[on(PlayerEvent::XpGained)]
            async fn xp_gained(&self, amount: &u64) -> Result<(), BoxError> {
                self.add(*amount).await
            }

            #[reset]
            fn clear(&self) {
                self.entries.lock().clear();
            }
        }
    };
    let expansion = crate::consumer::expand(crate::consumer::Kind::Projection, args, input);
    assert_snapshot("projection", expansion);
}

#[test]
fn a_policy_of_a_struct_event() {
    let args = quote!(name = "award_game_results", event = GameCompletedEvent);
    let input = quote! {
        impl AwardGameResults {
            #[on(GameCompletedEvent)]
            async fn completed(&self, player_id: &PlayerId, score: &u64, reaction: &Reaction) -> Result<(), BoxError> {
                self.players.execute_with(award(player_id, score), reaction.command_context()).await?;
                Ok(())
            }
        }
    };
    let expansion = crate::consumer::expand(crate::consumer::Kind::Policy, args, input);
    assert_snapshot("policy", expansion);
}

#[test]
fn a_registered_policy() {
    let args = quote!(build = AwardXp::new);
    let input = quote! {
        #[async_trait]
        impl Policy for AwardXp {
            type Event = GameEvent;
            fn name(&self) -> &str { "award_xp" }
            async fn react(&self, event: &RecordedEvent<GameEvent>, reaction: &Reaction) -> Result<(), BoxError> {
                Ok(())
            }
        }
    };
    assert_snapshot("register_policy", crate::register::expand(args, input));
}

#[test]
fn a_renamed_crate_is_the_only_path_generated_code_uses() {
    let expansions = [
        derive(
            crate::event::derive,
            quote! {
                #[event(crate = "renamed_core")]
                enum DoorEvent { Opened }
            },
        ),
        derive(
            crate::command::derive,
            quote! {
                #[command(aggregate = Door, crate = "renamed_core")]
                struct Open { #[aggregate_id] door: String }
            },
        ),
        crate::aggregate::expand(
            quote!(
                name = "door",
                id = String,
                command = Open,
                event = DoorEvent,
                error = E,
                crate = "renamed_core"
            ),
            quote!(impl Door {}),
        ),
        crate::register::expand(
            quote!(crate = "renamed_core"),
            quote!(impl Projection for Doors {}),
        ),
        crate::consumer::expand(
            crate::consumer::Kind::Projection,
            quote!(name = "doors", event = DoorEvent, crate = "renamed_core"),
            quote!(impl Doors {
                #[on(DoorEvent::Closed)]
                fn closed(&self, by: &String) {}
                #[reset]
                fn reset(&self) {}
            }),
        ),
        crate::consumer::expand(
            crate::consumer::Kind::Policy,
            quote!(
                name = "lock_doors",
                event = DoorEvent,
                crate = "renamed_core"
            ),
            quote!(impl LockDoors {
                #[on(DoorEvent::Closed)]
                async fn closed(&self, by: &String, reaction: &Reaction) -> Result<(), E> {
                    Ok(())
                }
            }),
        ),
    ];
    for expansion in expansions {
        let text = expansion.to_string();
        assert!(text.contains("renamed_core"), "{text}");
        assert!(!text.contains("eventful_core"), "{text}");
    }
}
