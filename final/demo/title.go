package demo

// Title is the chapter's title as the course runner lists it.
const Title = "The engine: a Docker-compatible CLI"
