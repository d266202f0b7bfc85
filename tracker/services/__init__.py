"""Use cases as plain functions: (actor, arguments) → result. They flush, never commit."""
