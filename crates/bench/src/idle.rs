//! Server memory per idle connection: the growth of the server's resident set over K connected,
//! synced and then silent clients, divided by K.

use std::time::Duration;

use anyhow::{Context, Result};
use futures_util::{StreamExt, stream};
use serde::Serialize;

use crate::client;
use crate::server::Server;

#[derive(Debug, Default, Serialize)]
pub struct IdleResult {
    pub connections: usize,
    pub rooms: usize,
    pub rss_before_kib: u64,
    pub rss_after_kib: u64,
    pub kib_per_connection: f64,
}

pub async fn run(server: &Server, connections: usize, per_room: usize) -> Result<IdleResult> {
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = server.usage()?;
    let base = server.ws_base.clone();
    let conns = stream::iter(0..connections)
        .map(|i| {
            let base = base.clone();
            async move {
                let mut ws = client::connect(&base, &format!("idle-{}", i / per_room)).await?;
                client::handshake(&mut ws, Duration::from_secs(30)).await?;
                anyhow::Ok(ws)
            }
        })
        .buffer_unordered(32)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<Vec<_>>>()
        .context("while connecting idle clients")?;
    // Keep reading (pings, awareness) so the connections stay healthy while idle.
    let readers: Vec<_> = conns
        .into_iter()
        .map(|mut ws| tokio::spawn(async move { while let Some(Ok(_)) = ws.next().await {} }))
        .collect();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = server.usage()?;
    for r in readers {
        r.abort();
    }
    Ok(IdleResult {
        connections,
        rooms: connections.div_ceil(per_room),
        rss_before_kib: before.rss_kib,
        rss_after_kib: after.rss_kib,
        kib_per_connection: after.rss_kib.saturating_sub(before.rss_kib) as f64
            / connections.max(1) as f64,
    })
}
