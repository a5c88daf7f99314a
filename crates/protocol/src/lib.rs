//! y-websocket wire protocol: message types and the lib0 codec.
