//! [`Principal`]: who is calling, from `Authorization: Bearer <token>`. Any
//! handler that takes a `Principal` requires a live session; a missing,
//! malformed, unknown, expired or revoked token is a 401.

use std::sync::Arc;

use axum::{
    extract::FromRequestParts,
    http::{header, request::Parts, HeaderValue},
};
use ledgerline_wire::Role;

use super::error::ApiError;
use crate::{domain::token::BearerToken, state::AppState};

/// The signed-in caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: String,
    pub org_id: String,
    pub role: Role,
    /// The session's id: what logout revokes and the hub keys long-polls by.
    pub token_id: String,
    /// The properties the caller may see; `None` = all of the org's.
    pub properties: Option<Vec<String>>,
}

impl Principal {
    /// The property scope in the form the store takes.
    pub fn visible(&self) -> Option<&[String]> {
        self.properties.as_deref()
    }

    pub fn can_see(&self, property_id: &str) -> bool {
        self.properties
            .as_ref()
            .is_none_or(|ps| ps.iter().any(|p| p == property_id))
    }

    /// Approving and rejecting is for managers and owners.
    pub fn require_approver(&self) -> Result<(), ApiError> {
        if self.role.can_approve() {
            Ok(())
        } else {
            Err(ApiError::Forbidden(
                "only managers and owners approve or reject",
            ))
        }
    }
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts.headers.get(header::AUTHORIZATION);
        let principal = authenticate(state, header.map(HeaderValue::as_bytes)).await?;
        Ok(Principal::clone(&principal))
    }
}

/// The caller named by an `Authorization` header's value (its bytes as
/// sent), from the session cache, the store only on a miss: what the
/// extractor above and the connection layer's lean poll path both use.
pub async fn authenticate(
    state: &AppState,
    authorization: Option<&[u8]>,
) -> Result<Arc<Principal>, ApiError> {
    let value = authorization.ok_or(ApiError::Unauthorized("missing bearer token"))?;
    // What `HeaderValue::to_str` accepts: visible ASCII, spaces and tabs.
    let token = std::str::from_utf8(value)
        .ok()
        .filter(|v| v.bytes().all(|b| b == b'\t' || (b' '..=b'~').contains(&b)))
        .and_then(BearerToken::from_header)
        .ok_or(ApiError::Unauthorized("malformed bearer token"))?;
    state
        .sessions()
        .principal(state.store(), &token.hash())
        .await?
        .ok_or(ApiError::Unauthorized("invalid, expired or revoked token"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(role: Role, properties: Option<Vec<String>>) -> Principal {
        Principal {
            user_id: "u".into(),
            org_id: "o".into(),
            role,
            token_id: "t".into(),
            properties,
        }
    }

    #[test]
    fn staff_see_only_their_properties() {
        let staff = principal(Role::Staff, Some(vec!["p1".into()]));
        assert!(staff.can_see("p1"));
        assert!(!staff.can_see("p2"));
        assert!(principal(Role::Owner, None).can_see("p2"));
    }

    #[test]
    fn only_managers_and_owners_approve() {
        assert!(principal(Role::Owner, None).require_approver().is_ok());
        assert!(principal(Role::Manager, None).require_approver().is_ok());
        assert!(principal(Role::Accountant, None)
            .require_approver()
            .is_err());
        assert!(principal(Role::Staff, None).require_approver().is_err());
    }
}
