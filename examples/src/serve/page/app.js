// The live page: one WebSocket to the gateway, four kinds of subscription — the player's own
// stream (from the start, so the page rebuilds the player), the public leaderboard and
// session_started events (live: the current standings are loaded once from the backend), and
// the stream of each session the player is in. On a dropped connection it reconnects and
// resumes every subscription after the last position it knows: that of the last event it
// received, or for a live subscription with none yet, the `after` of its `subscribed`.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { player: null, socket: null, after: {}, sessions: {}, boardShown: false, retry: 500 };

function text(element, value) {
  if (element.textContent !== String(value)) {
    element.textContent = value;
    element.classList.remove("flash");
    void element.offsetWidth;
    element.classList.add("flash");
  }
}

function log(line) {
  const item = document.createElement("li");
  item.textContent = `${new Date().toLocaleTimeString()} ${line}`;
  $("log").prepend(item);
  while ($("log").children.length > 30) $("log").lastChild.remove();
}

function showStats(stats) {
  text($("xp"), stats.xp);
  text($("level"), stats.level);
  text($("coins"), stats.coins);
  text($("games"), stats.games_played);
}

function onPlayerEvent(event) {
  const p = event.payload;
  switch (event.event_type) {
    case "player_created":
      $("name").textContent = `${p.name} (player ${p.player_id})`;
      showStats(p.stats);
      break;
    case "stats_updated":
      showStats(p.stats);
      if (p.reason.kind === "achievement_unlocked") {
        const item = document.createElement("li");
        item.textContent = p.reason.achievement_id;
        item.dataset.achievement = p.reason.achievement_id;
        $("achievements").append(item);
        log(`achievement ${p.reason.achievement_id}: +${p.changes.xp} xp`);
      } else {
        log(`+${p.changes.xp} xp: place ${p.reason.placement} in ${p.reason.mode} session ${p.reason.session_id}`);
      }
      break;
    case "leveled_up":
      text($("level"), p.new_level);
      log(`level up! ${p.old_level} → ${p.new_level}`);
      break;
  }
}

function sessionLine(id) {
  let item = document.getElementById(`session-${id}`);
  if (!item) {
    item = document.createElement("li");
    item.id = `session-${id}`;
    $("sessions").prepend(item);
    while ($("sessions").children.length > 12) $("sessions").lastChild.remove();
  }
  return item;
}

function onSessionEvent(event) {
  const id = event.stream_id.replace("game_session-", "");
  const p = event.payload;
  const line = sessionLine(id);
  const session = state.sessions[id] || (state.sessions[id] = { status: "", players: [] });
  switch (event.event_type) {
    case "session_started":
      session.players = p.players.slice();
      session.status = `${p.mode} on ${p.settings.map}`;
      break;
    case "player_joined": session.players.push(p.player_id); break;
    case "player_left":
      session.players = session.players.filter((x) => x !== p.player_id);
      log(`player ${p.player_id} left session ${id} (${p.reason})`);
      break;
    case "session_ended": {
      const scores = p.final_scores.map((s) => `${s.player_id}: ${s.score}`).join(", ");
      session.status += ` — ended (${p.reason}); scores ${scores}`;
      log(`session ${id} ended`);
      break;
    }
  }
  line.textContent = `session ${id}: ${session.status}; players ${session.players.join(", ")}`;
}

function showStandings(standings) {
  const body = $("leaderboard");
  body.replaceChildren(...standings.map((s) => {
    const row = document.createElement("tr");
    if (String(s.player_id) === String(state.player)) row.className = "me";
    for (const value of [s.rank, s.name, s.level, s.xp]) {
      const cell = document.createElement("td");
      cell.textContent = value;
      row.append(cell);
    }
    return row;
  }));
}

function onLeaderboard(event) {
  state.boardShown = true;
  showStandings(event.payload.standings);
}

// The standings now, once: the board is followed live, and the gateway is not asked to read
// every past change from the store. A change that arrived first is newer: it wins.
function loadStandings(player) {
  fetch("/demo/leaderboard")
    .then((response) => response.json())
    .then(({ standings }) => {
      if (player === state.player && !state.boardShown) showStandings(standings);
    })
    .catch((error) => log(`the leaderboard did not load: ${error}`));
}

function subscribe(id, topic) {
  const frame = { type: "subscribe", id, topic };
  if (state.after[id] !== undefined) frame.after = state.after[id];
  state.socket.send(JSON.stringify(frame));
}

function onFrame(frame) {
  switch (frame.type) {
    case "welcome":
      $("status").textContent = "live";
      $("status").className = "live";
      state.retry = 500;
      if (state.after.me === undefined) state.after.me = 0; // the whole history: the player's state
      if (state.after.board === undefined) loadStandings(state.player);
      subscribe("me", { stream: `player-${state.player}` });
      subscribe("board", { event_type: "leaderboard_changed" });
      subscribe("lobby", { event_type: "session_started" });
      for (const id of Object.keys(state.after).filter((k) => k.startsWith("session-"))) {
        subscribe(id, { stream: `game_${id}` });
      }
      break;
    case "subscribed":
      // Live with no event yet: resume from where the gateway stood, or a reconnect would
      // miss what came in between.
      if (state.after[frame.id] === undefined) state.after[frame.id] = frame.after;
      break;
    case "event": {
      const { subscription, event } = frame;
      state.after[subscription] = event.position;
      $("position").textContent = `at #${event.position}`;
      if (subscription === "me") onPlayerEvent(event);
      else if (subscription === "board") onLeaderboard(event);
      else if (subscription === "lobby") {
        const id = event.stream_id.replace("game_session-", "");
        if (event.payload.players.map(String).includes(String(state.player)) && !(`session-${id}` in state.after)) {
          // Follow the session from its start: its own stream, which this player may read.
          state.after[`session-${id}`] = event.position - 1;
          subscribe(`session-${id}`, { stream: event.stream_id });
        }
      } else if (subscription.startsWith("session-")) onSessionEvent(event);
      break;
    }
    case "error":
      log(`refused (${frame.code}): ${frame.message}`);
      if (frame.subscription === "board" && frame.code === "position_unavailable") {
        // Too far behind to read the changes missed: the standings now, and live again.
        delete state.after.board;
        state.boardShown = false;
        loadStandings(state.player);
        subscribe("board", { event_type: "leaderboard_changed" });
      }
      break;
    case "closing":
      log(`closed by the server (${frame.code}): ${frame.reason}`);
      break;
  }
}

function connect() {
  const player = state.player;
  fetch(`/demo/token?player=${player}`)
    .then((response) => response.json())
    .then(({ token }) => {
      if (player !== state.player) return;
      const scheme = location.protocol === "https:" ? "wss" : "ws";
      const socket = new WebSocket(`${scheme}://${location.host}/live/ws?token=${encodeURIComponent(token)}`);
      state.socket = socket;
      socket.onmessage = (message) => onFrame(JSON.parse(message.data));
      socket.onclose = () => {
        if (state.socket !== socket) return;
        $("status").textContent = "reconnecting…";
        $("status").className = "down";
        setTimeout(connect, state.retry);
        state.retry = Math.min(state.retry * 2, 10000);
      };
    })
    .catch(() => setTimeout(connect, state.retry));
}

function pick(player) {
  if (state.socket) { const old = state.socket; state.socket = null; old.close(); }
  state.player = player;
  state.after = {};
  state.sessions = {};
  state.boardShown = false;
  for (const id of ["achievements", "sessions", "log", "leaderboard"]) $(id).replaceChildren();
  history.replaceState(null, "", `?player=${player}`);
  connect();
}

fetch("/demo/players")
  .then((response) => response.json())
  .then((players) => {
    const select = $("player");
    for (const { id, name } of players) select.add(new Option(`${name} (${id})`, id));
    const asked = new URLSearchParams(location.search).get("player");
    select.value = asked && players.some((p) => String(p.id) === asked) ? asked : String(players[0].id);
    select.onchange = () => pick(select.value);
    pick(select.value);
  });
