//! Browser sessions: who is signed in (PP-AUTHZ-2, PP-APP-7, PP-REVOKE-1).

use super::Core;
use super::clock::{Millis, secs};
use super::secrets::random_token;

#[derive(Debug, Clone)]
pub struct Session {
    pub user: String,
    pub expires_at: Millis,
}

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "pp_session";

impl Core {
    /// Checks the password and opens a session; answers its id.
    pub fn sign_in(&self, username: &str, password: &str) -> Option<String> {
        if !self.lock().registry.check_password(username, password) {
            return None;
        }
        Some(self.open_session(username))
    }

    /// Opens a session for a known user without a password (`POST /__test/login`).
    pub fn open_session(&self, username: &str) -> String {
        let id = random_token("pps_");
        let expires_at = self.now() + secs(self.profile.lifetimes.session);
        self.lock().sessions.insert(
            id.clone(),
            Session {
                user: username.to_owned(),
                expires_at,
            },
            expires_at,
        );
        id
    }

    pub fn session_user(&self, session: &str) -> Option<String> {
        let now = self.now();
        self.lock()
            .sessions
            .get(session)
            .filter(|s| s.expires_at > now)
            .map(|s| s.user.clone())
    }

    pub fn sign_out(&self, session: &str) {
        self.lock().sessions.remove(session);
    }
}
