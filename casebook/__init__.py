"""The clinical domain and its storage: centers, users, rooms, cases, audit trail. No HTTP here."""
