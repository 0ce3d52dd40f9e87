"""Pure rules of the arrest-to-arraignment process. Imports only the standard library."""
