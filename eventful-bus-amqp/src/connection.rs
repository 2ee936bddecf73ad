//! Opening a connection and declaring the exchanges, with every start-up failure turned into
//! its [`AmqpError`]; the one place that tells a mistake (bad URI, refused login, conflicting
//! declaration) from a broker that is away for now.

use std::str::FromStr;

use lapin::options::ExchangeDeclareOptions;
use lapin::protocol::{AMQPErrorKind, AMQPHardError, AMQPSoftError};
use lapin::types::FieldTable;
use lapin::uri::AMQPUri;
use lapin::{Channel, Connection, ConnectionProperties, ErrorKind, ExchangeKind};

use crate::error::AmqpError;
use crate::settings::AmqpSettings;

/// The parts of the URI that errors and logs may show.
pub(crate) struct Target {
    pub(crate) endpoint: String,
    pub(crate) user: String,
}

/// Reads `settings`' URI; refuses one that is not an AMQP URI.
pub(crate) fn target(settings: &AmqpSettings) -> Result<Target, AmqpError> {
    let uri = AMQPUri::from_str(&settings.uri).map_err(|reason| AmqpError::InvalidUri {
        uri: hide_password(&settings.uri),
        reason,
    })?;
    Ok(Target {
        endpoint: format!(
            "{}:{}/{}",
            uri.authority.host, uri.authority.port, uri.vhost
        ),
        user: uri.authority.userinfo.username,
    })
}

/// `uri` with anything between the first `:` and the last `@` after the scheme replaced, for
/// messages: a password with an unencoded `@` in it (which makes the URI invalid) is hidden
/// whole.
fn hide_password(uri: &str) -> String {
    let Some((scheme, rest)) = uri.split_once("://") else {
        return uri.to_owned();
    };
    match rest.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}")
        }
        None => uri.to_owned(),
    }
}

/// Opens a connection named after `settings` and `role`.
pub(crate) async fn connect(settings: &AmqpSettings, role: &str) -> Result<Connection, AmqpError> {
    let target = target(settings)?;
    let name = match &settings.connection_name {
        Some(name) => format!("{name} ({role})"),
        None => role.to_owned(),
    };
    let properties = ConnectionProperties::default().with_connection_name(name.into());
    Connection::connect(&settings.uri, properties)
        .await
        .map_err(|source| classify_connect(&target, source))
}

fn classify_connect(target: &Target, source: lapin::Error) -> AmqpError {
    if let ErrorKind::ProtocolError(error) = source.kind()
        && matches!(
            error.kind(),
            AMQPErrorKind::Soft(AMQPSoftError::ACCESSREFUSED)
                | AMQPErrorKind::Hard(AMQPHardError::NOTALLOWED)
        )
    {
        return AmqpError::AccessRefused {
            endpoint: target.endpoint.clone(),
            user: target.user.clone(),
            reason: error.get_message().to_string(),
        };
    }
    AmqpError::Unreachable {
        endpoint: target.endpoint.clone(),
        source,
    }
}

/// Whether the broker answered an operation with PRECONDITION_FAILED (a declaration that
/// disagrees with what exists), and its reply.
pub(crate) fn precondition_failed(error: &lapin::Error) -> Option<String> {
    match error.kind() {
        ErrorKind::ProtocolError(reply)
            if matches!(
                reply.kind(),
                AMQPErrorKind::Soft(AMQPSoftError::PRECONDITIONFAILED)
            ) =>
        {
            Some(reply.get_message().to_string())
        }
        _ => None,
    }
}

/// Declares the shared topic exchange and the dead-letter exchange, both durable.
pub(crate) async fn declare_exchanges(
    channel: &Channel,
    settings: &AmqpSettings,
) -> Result<(), AmqpError> {
    declare_exchange(channel, settings.exchange(), ExchangeKind::Topic).await?;
    declare_exchange(
        channel,
        &settings.dead_letter_exchange(),
        ExchangeKind::Direct,
    )
    .await
}

async fn declare_exchange(
    channel: &Channel,
    exchange: &str,
    kind: ExchangeKind,
) -> Result<(), AmqpError> {
    let options = ExchangeDeclareOptions {
        durable: true,
        ..ExchangeDeclareOptions::default()
    };
    channel
        .exchange_declare(exchange.into(), kind, options, FieldTable::default())
        .await
        .map_err(|source| match precondition_failed(&source) {
            Some(reason) => AmqpError::ExchangeConflict {
                exchange: exchange.to_owned(),
                reason,
            },
            None => AmqpError::Broker {
                operation: "exchange.declare",
                source,
            },
        })
}

/// A channel on `connection`.
pub(crate) async fn channel(connection: &Connection) -> Result<Channel, AmqpError> {
    connection
        .create_channel()
        .await
        .map_err(|source| AmqpError::Broker {
            operation: "channel.open",
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_uri_is_refused_without_its_password() {
        let settings = AmqpSettings::new("http://guest:secret@localhost:5672/");
        let Err(AmqpError::InvalidUri { uri, .. }) = target(&settings) else {
            panic!("an http URI is not an AMQP URI");
        };
        assert_eq!(uri, "http://guest:***@localhost:5672/");
        let settings = AmqpSettings::new("http://guest:p@ss@localhost:5672/%2f");
        let Err(AmqpError::InvalidUri { uri, .. }) = target(&settings) else {
            panic!("an http URI is not an AMQP URI");
        };
        assert_eq!(uri, "http://guest:***@localhost:5672/%2f");
        assert!(matches!(
            target(&AmqpSettings::new("not a uri")),
            Err(AmqpError::InvalidUri { .. })
        ));
    }

    #[test]
    fn the_endpoint_names_host_port_and_vhost() {
        let settings = AmqpSettings::new("amqp://ana:pw@broker:5673/%2f");
        let target = target(&settings).expect("valid");
        assert_eq!(
            (target.endpoint.as_str(), target.user.as_str()),
            ("broker:5673//", "ana")
        );
    }
}
