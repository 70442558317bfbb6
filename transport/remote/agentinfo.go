package remote

// AgentVersion is the version of zerosync's agent, announced in the
// handshake ([WithVersion]). A transport that finds an agent with another
// version installs its own. The part after "+proto" is [ProtocolVersion].
const AgentVersion = "0.2.0+proto1"

// AgentArg is the first argument that makes a program serve as the agent
// (see the agent package's Handle). It is chosen so that no program takes
// it for one of its own arguments.
const AgentArg = "__zerosync_agent"

// AgentLingerArg, followed by a duration ("--linger=10m"), is the argument
// after [AgentArg] that makes the agent stay that long after its last
// session and serve later ones through its socket, [AgentSocket] in its
// cache directory (see the agent package).
const AgentLingerArg = "--linger="

// AgentSocket is the file name of the socket a lingering agent of this
// version serves on, beside the agent in its cache directory.
const AgentSocket = "agent-" + AgentVersion + ".sock"

// AgentSocketMax bounds the path of a lingering agent's socket, in bytes:
// a socket address holds 108 with the final NUL, and some systems fewer.
// An agent does not linger where the path would be longer.
const AgentSocketMax = 100
