//! The neutral kit every family's checks are built from: the OAuth flows ([`flows`]),
//! the rate-limit checks made from the profile's `[[rate_limits]]` ([`rate`]), the
//! target's clock ([`time`]), concurrent requests with one winner ([`race`]), members an
//! answer must carry, each judged by the clause naming it ([`members`]), redirects
//! read as the RFCs write them ([`redirect`]), checks on a deployment other clients use at
//! once ([`shared`]) and the reference server's test controls ([`controls`]). It names no family: what differs
//! (client authentication, error answers, what a transcript keeps, a limit's request
//! recipe) it asks of the family's [`Dialect`](crate::dialect::Dialect) and
//! [`rate::RateFamily`]. No family's folder imports another's; they meet here.

pub mod controls;
pub mod flows;
pub mod made_up;
pub mod members;
pub mod race;
pub mod rate;
pub mod redirect;
pub mod shared;
pub mod time;
