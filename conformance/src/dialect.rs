//! How a family's exchanges read and are written, as the suite's generic code asks it:
//! who plays which role in the credentials, which members of its answers the redactor
//! must know, how a client authenticates at its OAuth endpoints, how its error answers
//! read, what a transcript keeps of an exchange, and which clause a limit that admits too
//! much breaks. Every family implements [`Dialect`] (in `checks/<family>/`); the run's
//! [`crate::env::Env`] holds it, so a check context, the kit and the runner ask it and
//! never name a family. The rest of a family's part ([`crate::family::SuiteFamily`]: its
//! checks, probe paths and rate recipe) sits a floor above, with the checks.

use std::any::Any;

use contract_client::flows::ClientAuth;
use profile::{App, Identities, Profile, User};
use serde_json::Value;

use crate::client::{Exchange, Req, Resp};
use crate::free::{self, Freedoms};
use crate::outcome::Problem;
use crate::redact::{FamilyMembers, Redactor};

/// A family's dialect. Only [`Dialect::roles`], [`Dialect::members`] and
/// [`Dialect::error`] have no default.
pub trait Dialect: Send + Sync {
    /// The apps and users the family's checks act as, picked from the credentials by
    /// trait; a file that lacks one every check needs is refused (exit 2) with what it
    /// needs.
    fn roles(&self, ids: &Identities, profile: &Profile) -> Result<Box<dyn Roles>, String>;

    /// The member names of the family's answers that the redactor must know.
    fn members(&self, profile: &Profile) -> FamilyMembers;

    /// Asserts that `resp` is the family's error answer `code` (its status and envelope);
    /// answers the body.
    fn error(&self, profile: &Profile, resp: &Resp, code: &str) -> Result<Value, Problem>;

    /// A request to one of the family's OAuth endpoints carrying `pairs` and the client's
    /// authentication: by default `client_id` (and `client_secret`) after the pairs, as
    /// body parameters (PP-APP-2).
    fn authenticate(&self, req: Req, auth: &ClientAuth, pairs: &[(&str, &str)]) -> Req {
        req.form(auth.with(pairs))
    }

    /// What a transcript keeps of an exchange of check `check_id`: by default all of it.
    /// The check still judges the whole answer; only its snapshot is trimmed.
    fn kept(&self, _profile: &Profile, _check_id: &str, ex: Exchange) -> Kept {
        Kept::Exchange(Box::new(ex))
    }

    /// What the family's contract leaves to the server: its checks judge answers by it,
    /// and its snapshots pin none of it.
    fn free(&self) -> &'static Freedoms {
        &free::STRICT
    }

    /// The clause a limit that admits more than it allows breaks, wherever a check sees
    /// it (PP-RATE-1); `None` for a family that documents no limit.
    fn over_admission_clause(&self) -> Option<&'static str> {
        None
    }

    /// The clause that describes the answer of a flow step a check passes through on
    /// its way (PP-TOKEN-1 for a code redemption): a step that cannot go on, or a
    /// difference in its answer, belongs to that clause, not to the check that passed
    /// through (issue 18 item 4). `None`: the check's own.
    fn step_clause(&self, _step: Step) -> Option<&'static str> {
        None
    }

    /// The clause that names the status of error `code`, where a clause names it for
    /// that code in particular (punchplay's PP-APP-3: 401 `invalid_client`): a check
    /// that meets `code` with another status sees that clause's difference. `None`: the
    /// check that asserts the error judges its status.
    fn status_clause(&self, _profile: &Profile, _code: &str) -> Option<&'static str> {
        None
    }

    /// The clause that names a member or header of the family's answers (`scope` →
    /// PP-SCOPE-4), in an answer to `route`, where it is not the clause that describes the
    /// whole answer: a difference in it fails that clause's checks only. `None` for a
    /// name no clause singles out.
    fn named_by(&self, _profile: &Profile, _route: &str, _name: &str) -> Option<&'static str> {
        None
    }

    /// The clause that makes every error body of the family JSON (PP-ERR-1): an error
    /// answer met with another content type, or a body that is not JSON, is its
    /// difference, whichever check met it. `None`: the check's own.
    fn error_body_clause(&self) -> Option<&'static str> {
        None
    }
}

/// What a transcript keeps of one exchange.
#[derive(Debug, Clone)]
pub enum Kept {
    /// The exchange, perhaps trimmed to what the contract pins.
    Exchange(Box<Exchange>),
    /// A line in its place (an answer that is the deployment's data, not the contract's).
    Note(String),
}

/// The roles the apps and users of the credentials play, as a family picked them. The
/// redactor names identities after them (`[client:web]`), so that a snapshot recorded
/// with one deployment's apps gates another's; a family's checks read its own type back
/// with [`crate::env::Env::roles`].
pub trait Roles: Any + Send + Sync {
    /// The role of an app (`web`, `active`), or `None` for an app no role picked: it is
    /// then named by its place in the file (`app3`).
    fn app_role(&self, app: &App) -> Option<&'static str>;

    /// The role of a user: the first user of the file is the one every approval is made
    /// as (`primary`); others are named by their place (`user2`) unless the family names
    /// them.
    fn user_role(&self, _user: &User) -> Option<&'static str> {
        None
    }
}

/// Registers every identity of the credentials under its role placeholder (client
/// ids, app names, redirect URIs, secrets as written and form-encoded as HTTP Basic
/// carries them, RFC 6749 §2.3.1; usernames, display names, passwords): an app or
/// user no role picked is named by its place in the file (`app3`, `user2`), the first
/// user is `primary` unless the roles name it.
pub fn register_identities(redactor: &mut Redactor, ids: &Identities, roles: &dyn Roles) {
    for (n, app) in ids.apps.iter().enumerate() {
        let role = roles
            .app_role(app)
            .map_or_else(|| format!("app{}", n + 1), str::to_owned);
        if let Some(s) = &app.secret {
            redactor.register_named(s.expose(), &format!("[secret:{role}]"));
            let encoded: String =
                url::form_urlencoded::byte_serialize(s.expose().as_bytes()).collect();
            redactor.register_named(&encoded, &format!("[secret:{role}]"));
        }
        redactor.register_identity(&app.client_id, &format!("[client:{role}]"));
        redactor.register_identity(&app.name, &format!("[app-name:{role}]"));
        // One placeholder for every registered redirect URI: apps may share one (the
        // punchplay fixtures do) or not, and the checks assert which one a redirect uses.
        for uri in &app.redirect_uris {
            redactor.register_identity(uri, "[redirect-uri]");
        }
    }
    for (n, user) in ids.users.iter().enumerate() {
        let role = match roles.user_role(user) {
            Some(role) => role.to_owned(),
            None if n == 0 => "primary".to_owned(),
            None => format!("user{}", n + 1),
        };
        if let Some(p) = &user.password {
            redactor.register_named(p.expose(), &format!("[password:{role}]"));
        }
        redactor.register_identity(&user.username, &format!("[user:{role}]"));
        redactor.register_identity(&user.display_name, &format!("[display-name:{role}]"));
    }
}

/// A step of the kit's flows that a check passes through on its way: what it needs from
/// the answer (a code, a token) is asserted there; the rest of the answer belongs to the
/// clause the family names for the step ([`Dialect::step_clause`]); [`crate::passing`] attributes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    /// The approval of an authorization request: the redirect with the code.
    Approval,
    /// The redemption of a code at the token endpoint: the token pair.
    CodeRedemption,
    /// The device authorization request: the device and user codes.
    DeviceCode,
    /// Polling the device token endpoint until the approval is decided: the token pair.
    DeviceToken,
    /// A refresh: the new token pair.
    Refresh,
    /// A token of the client credentials grant.
    ClientCredentials,
}
