//! The RFC 7761 state machines as pure transition functions: each takes a state and an event and
//! returns the next state with the actions to perform, one `match (state, event)` arm per table
//! cell. The router ([`crate::PimRouter`]) owns timers and messages and carries the actions out,
//! so every cell is testable on its own.

pub mod assert;
pub mod downstream;
pub mod register;
pub mod upstream;

/// The result of one transition: the next state and the actions, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step<S, A: 'static> {
    pub next: S,
    pub actions: &'static [A],
}

pub(crate) const fn step<S, A>(next: S, actions: &'static [A]) -> Step<S, A> {
    Step { next, actions }
}

/// Generates one `#[test]` per state-table cell: `name: (state, event) => next, [actions];`.
#[cfg(test)]
macro_rules! cell_tests {
    ($transition:ident, $action:ty; $($name:ident: ($($arg:expr),+) => $next:expr, [$($act:expr),*];)*) => {
        $(
            #[test]
            fn $name() {
                let got = $transition($($arg),+);
                let expected: &[$action] = &[$($act),*];
                assert_eq!((got.next, got.actions), ($next, expected));
            }
        )*
    };
}
#[cfg(test)]
pub(crate) use cell_tests;
