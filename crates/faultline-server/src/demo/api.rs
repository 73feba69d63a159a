//! What the demo does through the server's JSON API, as a user would:
//! marking an issue resolved.

use serde::Deserialize;

#[derive(Clone)]
pub struct Api {
    client: reqwest::Client,
    base: String,
    token: Option<String>,
}

#[derive(Deserialize)]
struct GroupPage {
    groups: Vec<GroupSummary>,
}

#[derive(Deserialize)]
struct GroupSummary {
    id: u64,
    exception_type: Option<String>,
    status: String,
}

impl Api {
    pub fn new(api: std::net::SocketAddr, token: Option<String>) -> anyhow::Result<Api> {
        let client = reqwest::Client::builder().timeout(std::time::Duration::from_secs(10)).build()?;
        Ok(Api { client, base: format!("http://{api}"), token })
    }

    /// Marks the unresolved issue of `service` with `exception_type`
    /// resolved; its id, or None when there is no such issue (yet).
    pub async fn resolve_group(&self, service: &str, exception_type: &str) -> anyhow::Result<Option<u64>> {
        let url = format!("{}/api/v1/groups", self.base);
        let page: GroupPage = self
            .authorized(self.client.get(url).query(&[("service", service), ("limit", "1000")]))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let Some(group) = page
            .groups
            .iter()
            .find(|g| g.exception_type.as_deref() == Some(exception_type) && g.status == "unresolved")
        else {
            return Ok(None);
        };
        let url = format!("{}/api/v1/groups/{}", self.base, group.id);
        self.authorized(self.client.patch(url).json(&serde_json::json!({"status": "resolved"})))
            .send()
            .await?
            .error_for_status()?;
        Ok(Some(group.id))
    }

    fn authorized(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }
}
