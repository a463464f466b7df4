package demo

// Title is the chapter's title as the course runner lists it.
const Title = "Container networking: bridge, veth, NAT, published ports"
