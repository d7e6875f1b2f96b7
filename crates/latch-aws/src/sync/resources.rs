//! Resource inventory, for resource-level requests and policy rules on tags:
//! every tagged resource the Resource Groups Tagging API reports in the
//! region (ARN and tags) and, when the account has a Resource Explorer index
//! in the region (`LOCAL` or `AGGREGATOR`), every resource Resource Explorer's
//! default view finds — untagged ones and, through an aggregator, other
//! regions' too.
//!
//! Each resource is written once per sync, as kind `resource` with its ARN as
//! id. One Resource Explorer finds too has its type, region, service and
//! owning account added, and keeps the tagging API's tags (Resource Explorer
//! returns tags only when its view includes them).
//!
//! Resource Explorer's answer (at most 1,000 resources per query) is read
//! first and kept in memory. Then two resumable phases share the stage's
//! marker: the tagging API's pages (marker: its pagination token), then the
//! resources only Resource Explorer found (marker: `re2:` and the last ARN
//! written; the tagging API is asked which of each batch it knows, so a
//! resumed sync needs nothing from before the crash). No index: the tagging
//! API alone, as before Resource Explorer was read.

use std::collections::{BTreeMap, HashSet};

use latch_core::inventory::Item;
use serde_json::{json, Map, Value};

use super::retry::with_backoff;
use super::{Sink, Stop};
use crate::error::{classify, AwsError};
use crate::factory::Clients;

const STAGE: &str = "resources";
/// The marker of the second phase, followed by the last ARN written.
const RE2_PHASE: &str = "re2:";
/// `GetResources` takes at most 100 ARNs in `ResourceARNList`.
const ARN_BATCH: usize = 100;
/// Resource Explorer's largest `Search` page.
const SEARCH_PAGE: i32 = 1000;

/// A resource as Resource Explorer reports it.
#[derive(Debug, Clone)]
struct Found {
    resource_type: Option<String>,
    region: Option<String>,
    service: Option<String>,
    owning_account: Option<String>,
    tags: Map<String, Value>,
}

impl Found {
    /// The item's data, with `tags` (the tagging API's, when it has the resource).
    fn data(&self, tags: Option<Map<String, Value>>) -> Value {
        json!({
            "tags": tags.unwrap_or_else(|| self.tags.clone()),
            "resource_type": self.resource_type,
            "region": self.region,
            "service": self.service,
            "owning_account": self.owning_account,
        })
    }
}

pub(super) async fn sync(c: &Clients, sink: &Sink) -> Result<(), Stop> {
    let explorer = explorer_resources(c).await?;
    let marker = sink.marker(STAGE).await;
    if !marker.as_deref().is_some_and(|m| m.starts_with(RE2_PHASE)) {
        tagged(c, sink, marker, explorer.as_ref()).await?;
    }
    if let Some(found) = &explorer {
        let after = sink.marker(STAGE).await.and_then(|m| m.strip_prefix(RE2_PHASE).map(str::to_owned)).filter(|a| !a.is_empty());
        explorer_only(c, sink, found, after.as_deref()).await?;
    }
    Ok(())
}

/// Pages through the tagging API from `token`, merging in what Resource
/// Explorer found; the last page hands over to the second phase.
async fn tagged(c: &Clients, sink: &Sink, mut token: Option<String>, explorer: Option<&BTreeMap<String, Found>>) -> Result<(), Stop> {
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
                let arn = r.resource_arn()?;
                let tags: Map<String, Value> = r.tags().iter().map(|t| (t.key().to_owned(), Value::String(t.value().to_owned()))).collect();
                let data = match explorer.and_then(|e| e.get(arn)) {
                    Some(found) => found.data(Some(tags)),
                    None => json!({"tags": tags}),
                };
                Some(Item { kind: "resource".into(), id: arn.to_owned(), data })
            })
            .collect();
        let next = page.pagination_token().filter(|t| !t.is_empty()).map(str::to_owned);
        let marker = match (&next, explorer) {
            (Some(n), _) => Some(n.clone()),
            (None, Some(_)) => Some(RE2_PHASE.to_owned()),
            (None, None) => None,
        };
        sink.page(STAGE, items, marker.as_deref()).await?;
        match next {
            Some(n) => token = Some(n),
            None => return Ok(()),
        }
    }
}

/// Writes, in ARN order after `after`, the resources Resource Explorer found
/// that the tagging API does not list (it was asked about each batch).
async fn explorer_only(c: &Clients, sink: &Sink, found: &BTreeMap<String, Found>, after: Option<&str>) -> Result<(), Stop> {
    let pending: Vec<(&String, &Found)> = found.iter().filter(|(arn, _)| after.is_none_or(|a| arn.as_str() > a)).collect();
    for batch in pending.chunks(ARN_BATCH) {
        let arns: Vec<String> = batch.iter().map(|(arn, _)| (*arn).clone()).collect();
        let known = with_backoff(|| {
            let arns = arns.clone();
            async move {
                let mut known = HashSet::new();
                let mut token: Option<String> = None;
                loop {
                    let page = c
                        .tagging
                        .get_resources()
                        .set_resource_arn_list(Some(arns.clone()))
                        .set_pagination_token(token)
                        .send()
                        .await
                        .map_err(|e| classify("tag:GetResources", e).1)?;
                    known.extend(page.resource_tag_mapping_list().iter().filter_map(|r| r.resource_arn()).map(str::to_owned));
                    match page.pagination_token().filter(|t| !t.is_empty()) {
                        Some(t) => token = Some(t.to_owned()),
                        None => return Ok::<_, AwsError>(known),
                    }
                }
            }
        })
        .await?;
        let items: Vec<Item> = batch
            .iter()
            .filter(|(arn, _)| !known.contains(arn.as_str()))
            .map(|(arn, f)| Item { kind: "resource".into(), id: (*arn).clone(), data: f.data(None) })
            .collect();
        let last = batch.last().map(|(arn, _)| format!("{RE2_PHASE}{arn}"));
        sink.page(STAGE, items, last.as_deref()).await?;
    }
    Ok(())
}

/// Everything the default view of the region's Resource Explorer index
/// finds, by ARN; `None` when the region has no index.
async fn explorer_resources(c: &Clients) -> Result<Option<BTreeMap<String, Found>>, Stop> {
    let region = c.resource_explorer.config().region().map(ToString::to_string).unwrap_or_default();
    let mut token: Option<String> = None;
    let mut indexed = false;
    loop {
        let t = token.clone();
        let page = with_backoff(|| {
            let (t, region) = (t.clone(), region.clone());
            async move {
                c.resource_explorer
                    .list_indexes()
                    .regions(region)
                    .set_next_token(t)
                    .send()
                    .await
                    .map_err(|e| classify("resource-explorer-2:ListIndexes", e).1)
            }
        })
        .await;
        let page = match page {
            Ok(page) => page,
            // Resource Explorer adds to the tagging API: where it does not
            // answer at all, even after retries (a region without the
            // service), the resources are the tagging API's alone. A refusal
            // still fails the stage, naming the action.
            Err(AwsError::Unavailable(why)) if token.is_none() => {
                tracing::warn!(%why, "Resource Explorer did not answer; resources come from the tagging API alone");
                return Ok(None);
            }
            Err(e) => return Err(e.into()),
        };
        // A LOCAL index searches its region; an AGGREGATOR index every
        // region that replicates to it. Either will do.
        indexed |= page.indexes().iter().any(|i| i.region() == Some(region.as_str()));
        match page.next_token().filter(|t| !t.is_empty()) {
            Some(n) => token = Some(n.to_owned()),
            None => break,
        }
    }
    if !indexed {
        return Ok(None);
    }

    let mut found = BTreeMap::new();
    let mut token: Option<String> = None;
    loop {
        let t = token.clone();
        let page = with_backoff(|| {
            let t = t.clone();
            // The empty query string finds everything the view holds.
            async move { c.resource_explorer.search().query_string("").max_results(SEARCH_PAGE).set_next_token(t).send().await.map_err(search_error) }
        })
        .await?;
        for r in page.resources() {
            let Some(arn) = r.arn() else { continue };
            let tags = r
                .properties()
                .iter()
                .filter(|p| p.name() == Some("tags"))
                .filter_map(|p| p.data())
                .filter_map(|d| d.as_array())
                .flatten()
                .filter_map(|t| {
                    let t = t.as_object()?;
                    Some((t.get("Key")?.as_string()?.to_owned(), Value::String(t.get("Value")?.as_string()?.to_owned())))
                })
                .collect();
            let found_one = Found {
                resource_type: r.resource_type().map(str::to_owned),
                region: r.region().map(str::to_owned),
                service: r.service().map(str::to_owned),
                owning_account: r.owning_account_id().map(str::to_owned),
                tags,
            };
            found.insert(arn.to_owned(), found_one);
        }
        if page.count().is_some_and(|n| n.complete() == Some(false)) {
            tracing::warn!(%region, found = found.len(), "Resource Explorer answers at most 1,000 resources per search; the inventory holds only those");
        }
        match page.next_token().filter(|t| !t.is_empty()) {
            Some(n) => token = Some(n.to_owned()),
            None => return Ok(Some(found)),
        }
    }
}

/// `Search` refusals: a missing permission names the action; Resource
/// Explorer's 401 means the region has no default view the role may use.
fn search_error(e: aws_sdk_resourceexplorer2::error::SdkError<aws_sdk_resourceexplorer2::operation::search::SearchError, aws_smithy_runtime_api::http::Response>) -> AwsError {
    if e.as_service_error().is_some_and(aws_sdk_resourceexplorer2::operation::search::SearchError::is_unauthorized_exception) {
        return AwsError::Refused {
            action: "resource-explorer-2:Search".into(),
            code: "UnauthorizedException".into(),
            message: "the region's Resource Explorer index has no default view the integration role may search\nhelp: create a view and make it the region's default (`aws resource-explorer-2 associate-default-view`), or delete the index to sync tagged resources only".into(),
        };
    }
    classify("resource-explorer-2:Search", e).1
}
