//! The state a family keeps beside the kernel's tables (issue 20 item 2): one value of the
//! family's own type in the state, under the same lock, so that a family's rule and the
//! kernel's stores change together. The kernel asks it only what every table answers:
//! purge what expired, forget a user's access to an app. The family reaches its own type
//! through [`downcast`].

use std::any::Any;

use super::clock::Millis;
use super::error::{ProtocolError, ProtocolResult};
use super::fault::Bends;

/// A family's own tables (its directory, its playback, its device codes), bounded like
/// every table of the server.
pub trait FamilyState: Any + Send {
    /// Forgets what expired by `now`, at most about `budget` entries per table; answers
    /// whether nothing due is left. `bends` says which rules are on (a faulty one may keep
    /// expired entries to honour them).
    fn purge(&mut self, _now: Millis, _bends: Bends, _budget: usize) -> bool {
        true
    }

    /// A user revoked an app's access (PP-REVOKE-1): what the family holds that would
    /// otherwise still mint tokens for it ends too.
    fn access_revoked(&mut self, _user: &str, _client_id: &str) {}

    /// A user created at run time (`POST /__test/users`): what the family writes of a
    /// user once (punchplay: the profile `GET me` answers). At most as many as the
    /// registry's users.
    fn add_user(&mut self, _username: &str, _display_name: &str) {}

    /// An app created at run time (`POST /__test/apps`, issue 21 item 2): the family
    /// takes its part (enterprise: the app's enterprise and company) whole, or refuses it
    /// and changes nothing, and then the app is not created. By default a family has no
    /// enterprises or companies, and an app naming one is refused.
    fn add_app(&mut self, app: &profile::App) -> ProtocolResult<()> {
        if app.enterprise.is_some() || app.company.is_some() {
            return Err(ProtocolError::invalid_request(
                "This family's apps have no enterprise or company; leave them out.",
            ));
        }
        Ok(())
    }
}

/// A family without tables of its own.
impl FamilyState for () {}

/// The family's state as its own type. The family created it ([`FamilyState`] values come
/// only from its `new_state`), so another type is a bug in the server, not a request.
pub fn downcast<T: FamilyState>(state: &mut dyn FamilyState) -> &mut T {
    let any: &mut dyn Any = state;
    any.downcast_mut::<T>()
        .expect("a family reads only the state it created")
}

/// [`downcast`], reading.
pub fn downcast_ref<T: FamilyState>(state: &dyn FamilyState) -> &T {
    let any: &dyn Any = state;
    any.downcast_ref::<T>()
        .expect("a family reads only the state it created")
}
