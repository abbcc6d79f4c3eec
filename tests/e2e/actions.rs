//! Contract tests of the shipped actions, run through the mediator on localhost.
