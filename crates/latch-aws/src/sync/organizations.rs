//! Organizations: the member accounts of the organization this management
//! account runs (id, name, email, status), so requests can name them and
//! suspended accounts are known before anything is assigned in them.

use latch_core::inventory::Item;
use serde_json::json;

use super::retry::with_backoff;
use super::{time, Sink, Stop};
use crate::error::classify;
use crate::factory::Clients;

pub(super) async fn accounts(c: &Clients, sink: &Sink) -> Result<(), Stop> {
    let mut token = sink.marker("organizations").await;
    loop {
        let t = token.clone();
        let page = with_backoff(|| {
            let t = t.clone();
            async move { c.organizations.list_accounts().set_next_token(t).send().await.map_err(|e| classify("organizations:ListAccounts", e).1) }
        })
        .await?;
        let items: Vec<Item> = page
            .accounts()
            .iter()
            .filter_map(|a| {
                Some(Item {
                    kind: "account".into(),
                    id: a.id()?.to_owned(),
                    data: json!({
                        "name": a.name(), "email": a.email(), "arn": a.arn(),
                        "status": a.status().map(|s| s.as_str()), "joined": time(a.joined_timestamp()),
                    }),
                })
            })
            .collect();
        let next = page.next_token().map(str::to_owned);
        sink.page("organizations", items, next.as_deref()).await?;
        match next {
            Some(n) => token = Some(n),
            None => return Ok(()),
        }
    }
}
