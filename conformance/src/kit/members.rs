//! Members an answer must carry, each judged by the clause that names it (issue 18 item
//! 4): a check whose clause lists a member another clause singles out (PP-TOKEN-1 and
//! PP-DEVICE-1 list `scope`, which PP-SCOPE-4 is about) records that member's absence as
//! seen in passing and goes on; the member's own clause fails for it.

use serde_json::Value;

use crate::check::Ctx;
use crate::client::Resp;
use crate::outcome::CheckResult;

/// Asserts that `body` (the answer `resp`, which `what` names: "the token response")
/// has each of `keys` as a non-empty string. A missing one fails the check, unless the
/// family names another clause for that member: then it is seen, and the check goes on.
pub fn require_strings(
    ctx: &Ctx,
    resp: &Resp,
    body: &Value,
    keys: &[&str],
    what: &str,
) -> CheckResult {
    for key in keys {
        let present = body
            .get(*key)
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty());
        if present {
            continue;
        }
        let p = resp.fail(format!("{what} has no `{key}`"));
        let p = match ctx
            .env
            .dialect
            .named_by(ctx.profile(), resp.ex.req.route(), key)
        {
            Some(clause) => p.of_clause(clause),
            None => p,
        };
        ctx.in_passing(Err::<(), _>(p))?;
    }
    Ok(())
}
