//! `[[sentry.projects]]`: the Sentry projects the server accepts events
//! for. Each has the DSN's project id and public key, and the Faultline
//! service (and default environment) its events belong to, so the DSN
//! `http://<key>@<host>:4318/<id>` works as written.

use std::collections::{BTreeSet, HashMap};

use anyhow::bail;
use faultline_sentry::Project;
use serde::Deserialize;

/// `[sentry]` in the config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SentryConfig {
    #[serde(default)]
    pub projects: Vec<SentryProject>,
}

/// One `[[sentry.projects]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SentryProject {
    /// The project id at the end of the DSN.
    pub id: u64,
    /// The DSN's public key (the part before `@`).
    pub key: String,
    /// The Faultline service its events belong to.
    pub service: String,
    /// The environment of events that name none.
    pub environment: Option<String>,
}

impl SentryConfig {
    /// Keys that can sit in a DSN's user part, unique; services named.
    pub fn validate(&self) -> anyhow::Result<()> {
        let mut keys = BTreeSet::new();
        for project in &self.projects {
            let key = &project.key;
            if key.len() < 8 || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
                bail!(
                    "sentry.projects key {key:?} (project {}) must be at least 8 letters, digits, '-' or '_' \
                     (it is the user part of the DSN); for example: openssl rand -hex 16",
                    project.id
                );
            }
            if !keys.insert(key.as_str()) {
                bail!("sentry.projects key {key:?} is configured twice");
            }
            if project.service.trim().is_empty() {
                bail!("sentry.projects project {} needs a service", project.id);
            }
        }
        Ok(())
    }
}

/// The configured projects by key, for the Sentry endpoints.
#[derive(Debug, Default)]
pub struct SentryProjects {
    by_key: HashMap<String, (u64, Project)>,
}

/// Why a request's key was not accepted.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeyRefused {
    #[error(
        "unknown Sentry key: it must be the key of a [[sentry.projects]] entry of the server's configuration"
    )]
    Unknown,
    #[error("this Sentry key belongs to project {configured}, not {requested}: check the DSN's project id")]
    WrongProject { configured: u64, requested: String },
}

impl SentryProjects {
    pub fn new(config: &SentryConfig) -> SentryProjects {
        let by_key = config
            .projects
            .iter()
            .map(|p| {
                let project = Project { service: p.service.clone(), environment: p.environment.clone() };
                (p.key.clone(), (p.id, project))
            })
            .collect();
        SentryProjects { by_key }
    }

    /// The project of `key`, when it is configured for `project_id` (the
    /// id in the request's path).
    pub fn find(&self, key: &str, project_id: &str) -> Result<&Project, KeyRefused> {
        let (id, project) = self.by_key.get(key).ok_or(KeyRefused::Unknown)?;
        if project_id.parse::<u64>().ok() != Some(*id) {
            return Err(KeyRefused::WrongProject { configured: *id, requested: project_id.to_string() });
        }
        Ok(project)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn config(key: &str) -> SentryConfig {
        SentryConfig {
            projects: vec![SentryProject {
                id: 1,
                key: key.into(),
                service: "shop".into(),
                environment: None,
            }],
        }
    }

    #[test]
    fn keys_are_checked() {
        assert!(config("0123456789abcdef").validate().is_ok());
        assert!(config("short").validate().is_err());
        assert!(config("has@sign-in-it").validate().is_err());
        let mut twice = config("0123456789abcdef");
        twice.projects.push(twice.projects[0].clone());
        assert!(twice.validate().unwrap_err().to_string().contains("twice"));
    }

    #[test]
    fn a_key_belongs_to_its_project() {
        let projects = SentryProjects::new(&config("0123456789abcdef"));
        assert_eq!(projects.find("0123456789abcdef", "1").unwrap().service, "shop");
        assert_eq!(projects.find("nope", "1"), Err(KeyRefused::Unknown));
        assert!(matches!(projects.find("0123456789abcdef", "2"), Err(KeyRefused::WrongProject { .. })));
    }
}
