//! The directory of enterprises, companies and which client belongs to which (EN-TOKEN-3,
//! EN-API-1), as the fixtures say and the test controls change them, with those controls.

use std::collections::HashMap;

use rustc_hash::FxHashMap;

use hyper::{Method, Response};
use profile::Identities;
use serde::Deserialize;
use serde_json::json;

use super::EnterpriseState;
use crate::core::error::{ProtocolError, ProtocolResult};
use crate::http::respond::Body;
use crate::http::test_controls::{body_as, ok_with_now};
use crate::http::{App, Ctx};

/// The longest company id the link control accepts: ids are names, not documents.
const MAX_COMPANY_ID_LEN: usize = 100;

/// Enterprises, companies and which client belongs to which.
#[derive(Debug, Default)]
pub struct Directory {
    /// Enterprise id → active (EN-TOKEN-3). This and `members` hash with FxHash: their
    /// keys come from the fixtures and the registry, never from a request, and issuance
    /// looks both up for every token (issue 20 item 8).
    enterprises: FxHashMap<String, bool>,
    /// Company id → its tags, in file order (EN-API-1).
    companies: HashMap<String, Vec<String>>,
    /// client_id → its membership. One per registered app: bounded by the registry.
    members: FxHashMap<String, Membership>,
}

#[derive(Debug, Clone)]
struct Membership {
    enterprise: Option<String>,
    company: Option<String>,
    /// The app's own `active`, which counts for an app that names no enterprise.
    app_active: bool,
}

impl Directory {
    pub fn from_identities(ids: &Identities) -> Self {
        Directory {
            enterprises: ids
                .enterprises
                .iter()
                .map(|e| (e.id.clone(), e.active))
                .collect(),
            companies: ids
                .companies
                .iter()
                .map(|c| (c.id.clone(), c.tags.clone()))
                .collect(),
            members: ids
                .apps
                .iter()
                .map(|a| {
                    let membership = Membership {
                        enterprise: a.enterprise.clone(),
                        company: a.company.clone(),
                        app_active: a.active,
                    };
                    (a.client_id.clone(), membership)
                })
                .collect(),
        }
    }

    /// Whether the enterprise owning `client_id` is active (EN-TOKEN-3). A client naming
    /// no enterprise is as active as the app itself (`Identities::enterprise_active`).
    pub fn enterprise_active(&self, client_id: &str) -> bool {
        match self.members.get(client_id) {
            Some(Membership {
                enterprise: Some(id),
                ..
            }) => self.enterprises.get(id).copied().unwrap_or(false),
            Some(m) => m.app_active,
            None => false,
        }
    }

    /// The tags of the company `client_id` is linked to; `None` when it is linked to none,
    /// or to a company not listed (EN-API-1).
    pub fn company_tags(&self, client_id: &str) -> Option<&[String]> {
        let company = self.members.get(client_id)?.company.as_ref()?;
        self.companies.get(company).map(Vec::as_slice)
    }

    /// Takes an app created at run time (`POST /__test/apps`): its enterprise and company
    /// must be listed, or nothing changes. An app naming no enterprise is as active as
    /// itself (EN-TOKEN-3), as in the fixtures. One membership per registered app.
    pub fn add_member(&mut self, app: &profile::App) -> ProtocolResult<()> {
        let listed = |ids: Vec<&String>| {
            let mut ids: Vec<&str> = ids.into_iter().map(String::as_str).collect();
            ids.sort_unstable();
            ids.join(", ")
        };
        if let Some(id) = &app.enterprise
            && !self.enterprises.contains_key(id)
        {
            return Err(ProtocolError::invalid_request(format!(
                "There is no enterprise `{id}`; name one of {}, or leave enterprise out.",
                listed(self.enterprises.keys().collect())
            )));
        }
        if let Some(id) = &app.company
            && !self.companies.contains_key(id)
        {
            return Err(ProtocolError::invalid_request(format!(
                "There is no company `{id}`; name one of {}, or leave company out.",
                listed(self.companies.keys().collect())
            )));
        }
        self.members.insert(
            app.client_id.clone(),
            Membership {
                enterprise: app.enterprise.clone(),
                company: app.company.clone(),
                app_active: app.active,
            },
        );
        Ok(())
    }

    /// (De)activates an enterprise. Issued tokens are left alone: seed 003 says only that
    /// an inactive enterprise gets no new ones (EN-TOKEN-3).
    fn set_enterprise_active(&mut self, enterprise: &str, active: bool) -> ProtocolResult<()> {
        match self.enterprises.get_mut(enterprise) {
            Some(a) => {
                *a = active;
                Ok(())
            }
            None => Err(ProtocolError::not_found(format!(
                "There is no enterprise `{enterprise}`."
            ))),
        }
    }

    /// Links a client to a company, or unlinks it with `None`. A company not listed may be
    /// named: its client then reads "Company not found." (EN-API-1).
    fn link_company(&mut self, client_id: &str, company: Option<&str>) -> ProtocolResult<()> {
        match self.members.get_mut(client_id) {
            Some(m) => {
                m.company = company.map(str::to_owned);
                Ok(())
            }
            None => Err(ProtocolError::not_found(format!(
                "There is no app `{client_id}`."
            ))),
        }
    }
}

/// `{"company": "acme" | null}`.
#[derive(Deserialize)]
struct LinkCompany {
    company: Option<String>,
}

/// Enterprise's test controls: `POST /__test/enterprises/{id}/activate|deactivate`
/// (EN-TOKEN-3) and `POST /__test/apps/{client_id}/company` (EN-API-1).
pub fn test_control(
    app: &App,
    ctx: &Ctx,
    segments: &[&str],
    body: &[u8],
) -> Option<ProtocolResult<Response<Body>>> {
    if ctx.method != Method::POST {
        return None;
    }
    match segments {
        ["enterprises", id, action @ ("activate" | "deactivate")] => {
            let active = *action == "activate";
            let set = app.core.with_family(|state: &mut EnterpriseState| {
                state.directory.set_enterprise_active(id, active)
            });
            Some(set.and_then(|()| ok_with_now(app, json!({"enterprise": id, "active": active}))))
        }
        ["apps", client_id, "company"] => Some(link_company(app, client_id, body)),
        _ => None,
    }
}

fn link_company(app: &App, client_id: &str, body: &[u8]) -> ProtocolResult<Response<Body>> {
    let LinkCompany { company } = body_as(body)?;
    if company
        .as_deref()
        .is_some_and(|c| c.is_empty() || c.len() > MAX_COMPANY_ID_LEN)
    {
        return Err(ProtocolError::invalid_request(format!(
            "company must be a company id of 1 to {MAX_COMPANY_ID_LEN} bytes, or null."
        )));
    }
    app.core.with_family(|state: &mut EnterpriseState| {
        state.directory.link_company(client_id, company.as_deref())
    })?;
    ok_with_now(app, json!({"client_id": client_id, "company": company}))
}
