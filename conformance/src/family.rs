//! What a family gives the suite above its [`Dialect`]: its checks in report order, the
//! two paths the probe asks before a run, and its rate recipe. A family is a unit struct
//! in `checks/<family>/` implementing both traits, and one line of the registry
//! ([`crate::checks::family`]); nothing else in the suite names it.

use profile::Profile;

use crate::check::Check;
use crate::dialect::Dialect;
use crate::kit::rate::RateFamily;

/// A family's suite.
pub trait SuiteFamily: Dialect {
    /// Every check of the family for `profile`, in report order (rate checks one set
    /// per limit of the profile the family has a recipe for).
    fn checks(&self, profile: &Profile) -> Vec<Check>;

    /// Two paths the probe asks without credentials before a run: an unknown route and
    /// a protected one, whose errors the family's contract answers in JSON.
    fn probe_paths(&self, profile: &Profile) -> [String; 2];

    /// The family's rate recipe; `None` for a family whose contract documents no limit.
    fn rate(&self) -> Option<&'static dyn RateFamily> {
        None
    }
}
