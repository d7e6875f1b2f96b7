//! Resource inventory: every tagged resource the Resource Groups Tagging
//! API reports in the region (ARN and tags), for resource-level requests
//! and policy rules on tags.

use latch_core::inventory::Item;
use serde_json::{json, Map, Value};

use super::retry::with_backoff;
use super::{Sink, Stop};
use crate::error::classify;
use crate::factory::Clients;

pub(super) async fn tagged(c: &Clients, sink: &Sink) -> Result<(), Stop> {
    let mut token = sink.marker("resources").await;
    loop {
        let t = token.clone();
        let page = with_backoff(|| {
            let t = t.clone();
            async move {
                c.tagging.get_resources().resources_per_page(100).set_pagination_token(t).send().await.map_err(|e| classify("tag:GetResources", e).1)
            }
        })
        .await?;
        let items: Vec<Item> = page
            .resource_tag_mapping_list()
            .iter()
            .filter_map(|r| {
                let tags: Map<String, Value> = r.tags().iter().map(|t| (t.key().to_owned(), Value::String(t.value().to_owned()))).collect();
                Some(Item { kind: "resource".into(), id: r.resource_arn()?.to_owned(), data: json!({"tags": tags}) })
            })
            .collect();
        let next = page.pagination_token().filter(|t| !t.is_empty()).map(str::to_owned);
        sink.page("resources", items, next.as_deref()).await?;
        match next {
            Some(n) => token = Some(n),
            None => return Ok(()),
        }
    }
}
