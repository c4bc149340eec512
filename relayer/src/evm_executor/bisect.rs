//! Finding the entries of a batch that a token refuses to pay, from simulations alone.
//!
//! `releaseBatch` pays every entry it can and counts them; a token that refuses one payout (a
//! blacklisted recipient, a balance that would overflow) costs that entry alone. The count of a
//! simulated group says: all paid (keep the group), none paid (every entry is refused), or some;
//! only a mixed group is halved and simulated again. `k` refused entries among `n` cost about
//! `2k·log2(n/k)` simulations, and a group that is refused whole costs one.

use std::future::Future;

/// Splits `entries` into (paid, refused), given `pays`, which simulates a group and answers how
/// many of its entries would be paid, and `known`, the count already simulated for the whole.
/// Order is kept within each side.
pub async fn split_refused<T, E, F, Fut>(
    entries: Vec<T>,
    known: usize,
    mut pays: F,
) -> Result<(Vec<T>, Vec<T>), E>
where
    T: Clone,
    F: FnMut(Vec<T>) -> Fut,
    Fut: Future<Output = Result<usize, E>>,
{
    let (mut paid, mut refused) = (Vec::new(), Vec::new());
    // Groups still to judge, the next on top, each with its count when already known.
    let mut groups = vec![(entries, Some(known))];
    while let Some((group, count)) = groups.pop() {
        let count = match count {
            Some(c) => c,
            None => pays(group.clone()).await?,
        };
        match verdict(group.len(), count) {
            Verdict::AllPaid => paid.extend(group),
            Verdict::NonePaid => refused.extend(group),
            Verdict::Mixed => {
                let mut first = group;
                let second = first.split_off(first.len() / 2);
                groups.push((second, None));
                groups.push((first, None));
            }
        }
    }
    Ok((paid, refused))
}

#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    AllPaid,
    NonePaid,
    Mixed,
}

fn verdict(len: usize, paid: usize) -> Verdict {
    if paid >= len {
        Verdict::AllPaid
    } else if paid == 0 {
        Verdict::NonePaid
    } else {
        Verdict::Mixed
    }
}

#[cfg(test)]
mod tests {
    use super::split_refused;
    use std::cell::Cell;

    /// Splits 0..n where the token refuses `bad`, counting the simulations asked.
    fn split(n: u32, bad: &[u32]) -> (Vec<u32>, Vec<u32>, u32) {
        let asked = Cell::new(0);
        let pays = |g: &[u32]| g.iter().filter(|x| !bad.contains(x)).count();
        let all: Vec<u32> = (0..n).collect();
        let known = pays(&all);
        let (paid, refused) = futures::executor::block_on(split_refused(all, known, |g| {
            asked.set(asked.get() + 1);
            let count = pays(&g);
            async move { Ok::<_, ()>(count) }
        }))
        .unwrap();
        (paid, refused, asked.get())
    }

    #[test]
    fn one_refused_entry_is_found_and_the_rest_paid() {
        let (paid, refused, asked) = split(16, &[11]);
        assert_eq!(refused, vec![11]);
        assert_eq!(paid, (0..16).filter(|x| *x != 11).collect::<Vec<_>>());
        // Halving 16 down to one: two groups per level, four levels.
        assert_eq!(asked, 8);
    }

    #[test]
    fn a_group_refused_whole_costs_nothing_more() {
        let (paid, refused, asked) = split(16, &(0..16).collect::<Vec<_>>());
        assert!(paid.is_empty());
        assert_eq!(refused.len(), 16);
        assert_eq!(asked, 0, "the whole batch's own count said none is paid");
        let (paid, refused, asked) = split(16, &(8..16).collect::<Vec<_>>());
        assert_eq!((paid, refused), ((0..8).collect(), (8..16).collect()));
        assert_eq!(asked, 2);
    }

    #[test]
    fn all_paid_is_kept_whole() {
        let (paid, refused, asked) = split(5, &[]);
        assert_eq!((paid.len(), refused.len(), asked), (5, 0, 0));
    }

    #[test]
    fn scattered_refusals_are_each_found() {
        let bad = [0, 5, 6, 15];
        let (paid, refused, _) = split(16, &bad);
        assert_eq!(refused, bad.to_vec());
        assert_eq!(paid.len(), 12);
    }
}
