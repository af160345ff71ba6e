// wicct: a minimal WebRTC IMS client (WIC) around JsSIP, driven through window.wic.
//
// wicct's BrowserWicDriver calls these verbs with Playwright; each returns at once (the
// SIP that follows is judged by wicct on the wire) and throws an Error with a short,
// lower-case reason when the verb cannot be carried out. state() is what the app itself
// believes: {connected, registered, in_call, incoming, detail, ...}.
(function () {
  'use strict';

  const MAX_EVENTS = 200;
  const state = {
    connected: false,
    registered: false,
    in_call: false,
    incoming: false,
    detail: 'loaded',
    call_status: 'idle', // idle | calling | progress | ringing | answering | confirmed | ended | failed
    direction: '',
    last_cause: '',
    registration_failures: 0,
    events: [],
  };
  let opts = null;
  let ua = null;
  let session = null;

  function note(what) {
    state.detail = what;
    state.events.push(`${new Date().toISOString()} ${what}`);
    if (state.events.length > MAX_EVENTS) state.events.shift();
    console.log(`[wic] ${what}`);
    const pre = document.getElementById('state');
    if (pre) pre.textContent = JSON.stringify(snapshot(), null, 2);
  }

  function snapshot() {
    const copy = Object.assign({}, state);
    copy.events = state.events.slice(-20);
    return copy;
  }

  // JsSIP's debug output as one plain console line per call: no %c colours, %s/%o filled
  // in, and credentials never printed (its configuration object holds the password).
  const SECRET_KEYS = /^(password|ha1|authorization_jwt|_password|_ha1)$/i;

  function plain(value) {
    if (typeof value === 'string') return value;
    try {
      return JSON.stringify(value, (key, v) => (SECRET_KEYS.test(key) ? 'NOT SHOWN' : v));
    } catch (err) {
      return String(value);
    }
  }

  function debugLine(args) {
    let next = 1;
    const first = String(args[0]).replace(/%([sdifoOjc%])/g, (match, kind) => {
      if (kind === '%') return '%';
      const value = args[next++];
      return kind === 'c' ? '' : plain(value);
    });
    return [first, ...args.slice(next).map(plain)].join(' ');
  }

  function setDebug(namespaces) {
    // JsSIP binds each logger to console.info/warn/error; the debug module calls
    // formatArgs(args) just before, so the whole line is made here, as one argument.
    JsSIP.debug.formatArgs = function (args) {
      const line = `${this.namespace} ${debugLine(args)}`;
      args.length = 0;
      args.push(line);
    };
    if (namespaces) JsSIP.debug.enable(namespaces);
    else JsSIP.debug.disable();
  }

  function need(value, reason) {
    if (!value) throw new Error(reason);
  }

  function mediaConstraints() {
    return { audio: true, video: false };
  }

  function rtcOptions() {
    return {
      mediaConstraints: mediaConstraints(),
      pcConfig: { iceServers: [] },
      rtcOfferConstraints: { offerToReceiveAudio: true, offerToReceiveVideo: false },
    };
  }

  function attachRemoteAudio(sess) {
    const pc = sess.connection;
    if (!pc) return;
    pc.addEventListener('track', (ev) => {
      const audio = document.getElementById('remote');
      if (audio && ev.streams && ev.streams[0]) audio.srcObject = ev.streams[0];
    });
  }

  function bindSession(sess, direction) {
    session = sess;
    state.direction = direction;
    state.last_cause = '';
    if (direction === 'incoming') {
      state.incoming = true;
      state.call_status = 'ringing';
    } else {
      state.call_status = 'calling';
    }
    sess.on('peerconnection', () => attachRemoteAudio(sess));
    sess.on('connecting', () => note(`call ${direction}: connecting`));
    sess.on('sending', () => note(`call ${direction}: sending INVITE`));
    sess.on('progress', (e) => {
      if (direction === 'outgoing') state.call_status = 'progress';
      note(`call ${direction}: progress (${e.originator}${e.response ? ' ' + e.response.status_code : ''})`);
    });
    sess.on('accepted', (e) => {
      state.incoming = false;
      state.in_call = true;
      state.call_status = 'accepted';
      note(`call ${direction}: accepted (${e.originator})`);
    });
    sess.on('confirmed', (e) => {
      state.in_call = true;
      state.call_status = 'confirmed';
      note(`call ${direction}: confirmed (${e.originator})`);
    });
    sess.on('ended', (e) => {
      state.in_call = false;
      state.incoming = false;
      state.call_status = 'ended';
      state.last_cause = e.cause || '';
      note(`call ${direction}: ended by ${e.originator} (${e.cause})`);
      if (session === sess) session = null;
    });
    sess.on('failed', (e) => {
      state.in_call = false;
      state.incoming = false;
      state.call_status = 'failed';
      state.last_cause = e.cause || '';
      note(`call ${direction}: failed by ${e.originator} (${e.cause})`);
      if (session === sess) session = null;
    });
  }

  function createUa() {
    const socket = new JsSIP.WebSocketInterface(opts.ws_url);
    const config = {
      sockets: [socket],
      uri: opts.impu,
      authorization_user: opts.impi || undefined,
      password: opts.password || undefined,
      authorization_jwt: opts.authorization_jwt || undefined,
      display_name: opts.display_name || undefined,
      register: true,
      register_expires: opts.register_expires || 600,
      session_timers: false,
      no_answer_timeout: opts.no_answer_timeout || 60,
      user_agent: opts.user_agent || 'wicct-jssip-wic',
      connection_recovery_min_interval: 2,
      connection_recovery_max_interval: 30,
    };
    if (opts.instance_id) config.instance_id = opts.instance_id;
    const created = new JsSIP.UA(config);
    created.on('connecting', (e) => note(`ws connecting (attempt ${e.attempts})`));
    created.on('connected', () => {
      state.connected = true;
      note('ws connected');
    });
    created.on('disconnected', (e) => {
      state.connected = false;
      state.registered = false;
      note(`ws disconnected${e && e.error ? ' (error)' : ''}${e && e.code ? ' code ' + e.code : ''}`);
    });
    created.on('registered', (e) => {
      state.registered = true;
      note(`registered (${e.response.status_code})`);
    });
    created.on('unregistered', (e) => {
      state.registered = false;
      note(`unregistered${e && e.response ? ' (' + e.response.status_code + ')' : ''}`);
    });
    created.on('registrationFailed', (e) => {
      state.registered = false;
      state.registration_failures += 1;
      state.last_cause = e.cause || '';
      note(`registration failed (${e.cause}${e.response ? ' ' + e.response.status_code : ''})`);
    });
    created.on('newRTCSession', (e) => {
      if (e.originator === 'remote') {
        if (session) {
          e.session.terminate({ status_code: 486, reason_phrase: 'Busy Here' });
          note('incoming call rejected: busy');
          return;
        }
        bindSession(e.session, 'incoming');
        note(`incoming call from ${e.request.from.uri.toString()}`);
      }
    });
    created.on('newMessage', (e) => {
      if (e.originator === 'remote') note(`message from ${e.request.from.uri.toString()}`);
    });
    return created;
  }

  window.wic = {
    configure(o) {
      need(o && o.ws_url, 'configure needs ws_url');
      need(o.impu, 'configure needs impu');
      need(!ua, 'already configured and started: stop first');
      opts = Object.assign({}, o);
      setDebug(o.debug === true ? 'JsSIP:*' : o.debug ? String(o.debug) : '');
      note(`configured for ${o.ws_url} as ${o.impu}`);
      return true;
    },

    register() {
      need(opts, 'not configured');
      if (!ua) {
        ua = createUa();
        ua.start(); // registers once connected (register: true)
        note('ua started');
      } else {
        ua.register();
        note('register requested');
      }
      return true;
    },

    unregister() {
      need(ua, 'not started');
      ua.unregister();
      note('unregister requested');
      return true;
    },

    call(target) {
      need(ua, 'not started');
      need(target, 'call needs a target');
      need(!session, 'a call is already in progress');
      const sess = ua.call(target, rtcOptions());
      bindSession(sess, 'outgoing');
      note(`calling ${target}`);
      return true;
    },

    answer() {
      need(session && state.direction === 'incoming', 'no incoming call');
      need(state.call_status === 'ringing', `call is ${state.call_status}, not ringing`);
      state.call_status = 'answering';
      session.answer(rtcOptions());
      note('answering');
      return true;
    },

    hangup() {
      need(session, 'no call to hang up');
      session.terminate();
      note('hangup requested');
      return true;
    },

    message(target, text) {
      need(ua, 'not started');
      ua.sendMessage(target, text);
      note(`message to ${target}`);
      return true;
    },

    stop() {
      if (ua) {
        ua.stop();
        note('ua stopped');
      }
      ua = null;
      session = null;
      return true;
    },

    state() {
      return snapshot();
    },
  };
  note('ready');
})();
