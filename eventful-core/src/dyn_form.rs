//! One macro that writes, for each store trait, its object-safe form and the impls that join
//! the two, so that the delegation is written once for all three traits rather than by hand
//! for each.
//!
//! The store traits ([`EventStore`](crate::EventStore), [`SnapshotStore`](crate::SnapshotStore),
//! [`CheckpointStore`](crate::CheckpointStore)) declare their methods as `async fn` (returning
//! `impl Future + Send`): a generic caller such as `Repository<A, S>` then awaits the store's
//! own future, with no allocation per call, which measured 6% fewer instructions per command
//! than boxed futures (docs/performance.md). Such traits cannot be `dyn`, so each gets a
//! `Dyn…` twin whose methods box their futures (through `async_trait`), implemented for every
//! store, and the original trait is implemented for `dyn Dyn…` and for `Arc<S>`: a store
//! chosen at run time is an `Arc<dyn Dyn…>`, and still a store.

/// `object_safe!(Trait => DynTrait { fn method(&self, arg: Type) -> Output => method_boxed; })`,
/// and after the async methods, `sync fn method(&self) -> Output => dyn_method;` for plain ones
/// (named apart in the `Dyn…` trait, since every store implements both traits and a call on it
/// must not be ambiguous). A generic method, which each of the four places writes its own way,
/// comes after, in `by_hand { dyn: {..} for_store: {..} for_dyn: {..} for_arc: {..} }`.
macro_rules! object_safe {
    (
        $(#[$doc:meta])*
        $base:ident => $dyn:ident {
            $(
                fn $name:ident(&self $(, $arg:ident : $ty:ty)* $(,)?) -> $ret:ty => $boxed:ident;
            )*
            $(
                sync fn $sync:ident(&self) -> $sync_ret:ty => $dyn_sync:ident;
            )*
        }
        $(
            by_hand {
                dyn: { $($dyn_items:tt)* }
                for_store: { $($store_items:tt)* }
                for_dyn: { $($for_dyn_items:tt)* }
                for_arc: { $($for_arc_items:tt)* }
            }
        )?
    ) => {
        $(#[$doc])*
        #[async_trait::async_trait]
        pub trait $dyn: Send + Sync {
            $(
                #[doc = concat!("[`", stringify!($base), "::", stringify!($name), "`], with its future boxed.")]
                async fn $boxed(&self $(, $arg: $ty)*) -> $ret;
            )*
            $(
                #[doc = concat!("[`", stringify!($base), "::", stringify!($sync), "`].")]
                fn $dyn_sync(&self) -> $sync_ret;
            )*
            $($($dyn_items)*)?
        }

        #[async_trait::async_trait]
        impl<S: $base> $dyn for S {
            $(
                async fn $boxed(&self $(, $arg: $ty)*) -> $ret {
                    <S as $base>::$name(self $(, $arg)*).await
                }
            )*
            $(
                fn $dyn_sync(&self) -> $sync_ret {
                    <S as $base>::$sync(self)
                }
            )*
            $($($store_items)*)?
        }

        impl<'s> $base for dyn $dyn + 's {
            $(
                async fn $name(&self $(, $arg: $ty)*) -> $ret {
                    self.$boxed($($arg),*).await
                }
            )*
            $(
                fn $sync(&self) -> $sync_ret {
                    self.$dyn_sync()
                }
            )*
            $($($for_dyn_items)*)?
        }

        impl<S: $base + ?Sized> $base for std::sync::Arc<S> {
            $(
                async fn $name(&self $(, $arg: $ty)*) -> $ret {
                    (**self).$name($($arg),*).await
                }
            )*
            $(
                fn $sync(&self) -> $sync_ret {
                    (**self).$sync()
                }
            )*
            $($($for_arc_items)*)?
        }
    };
}

pub(crate) use object_safe;
