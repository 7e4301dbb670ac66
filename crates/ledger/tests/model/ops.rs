//! What a case does: steps of operations, each step sent to the ledger at once.

use proptest::prelude::*;

/// Account and hold numbers are taken modulo what exists when the operation runs; a hold number
/// one past the last names a transfer that does not exist.
#[derive(Debug, Clone)]
pub enum Op {
    /// A customer account opened under an `Idempotency-Key`, then the key sent again with the
    /// same request and with another.
    Open {
        eur: bool,
    },
    Transfer {
        from: usize,
        to: usize,
        amount: u128,
        hold: Option<i64>,
        keyed: bool,
    },
    Post {
        hold: usize,
        amount: Option<u128>,
    },
    Void {
        hold: usize,
    },
    /// All or nothing, under a key.
    Linked(Vec<(usize, usize, u128)>),
    /// The batch endpoint without `atomic`: one command, each transfer on its own, in order.
    Batch(Vec<(usize, usize, u128)>),
    /// An earlier keyed request sent again: the same body (its first answer, whatever has
    /// happened since) or another (refused).
    Retry {
        which: usize,
        same_body: bool,
    },
    /// A transfer under the key of an earlier account opening: refused, as another body.
    KeyOfOpening {
        which: usize,
    },
    /// One keyed transfer sent three times at once: one executes, all get its answer.
    Thrice {
        from: usize,
        to: usize,
        amount: u128,
    },
    Close {
        account: usize,
    },
    Wait(i64),
    /// The expiry worker's pass: every hold past its timeout voided.
    Expire,
}

impl Op {
    /// Operations that run alone: they read or change what every other might touch.
    pub fn alone(&self) -> bool {
        matches!(self, Op::Open { .. } | Op::Close { .. } | Op::Wait(_) | Op::Expire)
    }
}

fn op() -> impl Strategy<Value = Op> {
    let account = 0..16usize;
    prop_oneof![
        1 => any::<bool>().prop_map(|eur| Op::Open { eur }),
        6 => (account.clone(), account.clone(), 1..600u128, proptest::option::of(1_000..5_000i64), any::<bool>())
            .prop_map(|(from, to, amount, hold, keyed)| Op::Transfer { from, to, amount, hold, keyed }),
        2 => (0..16usize, proptest::option::of(1..700u128)).prop_map(|(hold, amount)| Op::Post { hold, amount }),
        1 => (0..16usize).prop_map(|hold| Op::Void { hold }),
        1 => proptest::collection::vec((account.clone(), account.clone(), 1..400u128), 2..4).prop_map(Op::Linked),
        1 => proptest::collection::vec((account.clone(), account.clone(), 1..400u128), 2..5).prop_map(Op::Batch),
        2 => (0..64usize, any::<bool>()).prop_map(|(which, same_body)| Op::Retry { which, same_body }),
        1 => (0..16usize).prop_map(|which| Op::KeyOfOpening { which }),
        1 => (account.clone(), account.clone(), 1..600u128).prop_map(|(from, to, amount)| Op::Thrice { from, to, amount }),
        1 => account.prop_map(|account| Op::Close { account }),
        1 => (500..3_000i64).prop_map(Op::Wait),
        1 => Just(Op::Expire),
    ]
}

/// Steps of one to four operations each.
pub fn steps() -> impl Strategy<Value = Vec<Vec<Op>>> {
    proptest::collection::vec(proptest::collection::vec(op(), 1..5), 1..25)
}
