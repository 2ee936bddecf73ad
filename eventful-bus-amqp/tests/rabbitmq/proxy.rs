//! [`Cuttable`]: a TCP relay to the broker that a test can cut, so that one client loses the
//! broker while every other connection to it goes on.

use std::str::FromStr;

pub(crate) struct Cuttable {
    address: std::net::SocketAddr,
    tasks: tokio::task::JoinSet<()>,
}

impl Cuttable {
    /// A relay to the broker of `uri`, and the URI that goes through it.
    pub(crate) async fn to_broker_of(uri: &str) -> (Self, String) {
        let broker = lapin::uri::AMQPUri::from_str(uri).expect("an AMQP URI");
        let authority = format!("{}:{}", broker.authority.host, broker.authority.port);
        let proxy = Self::to(authority.clone()).await;
        let through = uri.replacen(&authority, &proxy.address.to_string(), 1);
        (proxy, through)
    }

    async fn to(broker: String) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binds");
        let address = listener.local_addr().expect("an address");
        let mut tasks = tokio::task::JoinSet::new();
        tasks.spawn(async move {
            let mut pipes = tokio::task::JoinSet::new();
            while let Ok((mut client, _)) = listener.accept().await {
                let broker = broker.clone();
                pipes.spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(broker).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        });
        Self { address, tasks }
    }

    /// Drops the listener and every connection through it: from then on nothing reaches the
    /// broker through it.
    pub(crate) fn cut(mut self) {
        self.tasks.abort_all();
    }
}
