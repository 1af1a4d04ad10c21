"""Authentication (SASL/SCRAM, SASL/PLAIN) and authorization (ACLs) as pure logic, without I/O."""
