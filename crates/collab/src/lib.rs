//! Sans-IO collaboration core: rooms, Yjs documents, awareness.
