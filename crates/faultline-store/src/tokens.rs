//! Access tokens as stored records (`a` + id).

use faultline_model::{AccessToken, TokenScope};
use prost::Message;

use crate::records::{check_version, proto, FORMAT_VERSION};
use crate::{Error, Result};

pub(crate) fn encode(token: &AccessToken) -> Vec<u8> {
    proto::TokenRecord {
        format_version: FORMAT_VERSION,
        id: token.id.clone(),
        name: token.name.clone(),
        scope: token.scope.as_str().to_string(),
        services: token.services.clone(),
        created_unix_nano: token.created_at,
        secret_sha256: token.secret_sha256.to_vec(),
        events_per_second: token.events_per_second,
    }
    .encode_to_vec()
}

pub(crate) fn decode(bytes: &[u8]) -> Result<AccessToken> {
    let r = proto::TokenRecord::decode(bytes)?;
    check_version(r.format_version)?;
    let scope = TokenScope::parse(&r.scope)
        .ok_or_else(|| Error::Corrupt(format!("token {} has an unknown scope {:?}", r.id, r.scope)))?;
    let secret_sha256 = <[u8; 32]>::try_from(r.secret_sha256.as_slice())
        .map_err(|_| Error::Corrupt(format!("token {} has a hash that is not 32 bytes", r.id)))?;
    Ok(AccessToken {
        id: r.id,
        name: r.name,
        scope,
        services: r.services,
        created_at: r.created_unix_nano,
        secret_sha256,
        events_per_second: r.events_per_second,
    })
}
