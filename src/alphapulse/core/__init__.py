"""Clock, errors and other kernel pieces shared by every stage."""
