// A second, minimal implementation of wicct's page contract (docs/drivers.md, version 1),
// written only against the contract: window.wic on top of a JsSIP UA. It stands for a
// vendor's page that wicct's browser driver runs through profile options alone.
(function () {
  'use strict';

  const status = { connected: false, registered: false, in_call: false, incoming: false };
  let detail = 'loaded';
  let settings = null;
  let ua = null;
  let call = null;

  function say(text) {
    detail = text;
    console.log(`[acme] ${text}`);
    document.getElementById('status').textContent = text;
  }

  function fail(reason) {
    throw new Error(reason);
  }

  function track(session, incoming) {
    call = session;
    status.incoming = incoming;
    session.on('accepted', () => { status.incoming = false; status.in_call = true; say('in call'); });
    session.on('confirmed', () => { status.in_call = true; });
    for (const end of ['ended', 'failed']) {
      session.on(end, (e) => {
        status.in_call = false;
        status.incoming = false;
        if (call === session) call = null;
        say(`call ${end} (${e.cause})`);
      });
    }
  }

  const media = { mediaConstraints: { audio: true, video: false }, pcConfig: { iceServers: [] } };

  window.wic = {
    contract: 1,

    configure(o) {
      if (!o || !o.ws_url || !o.impu) fail('configure needs ws_url and impu');
      settings = Object.assign({}, o);
      say(`configured for ${o.ws_url} (page origin ${o.origin}, acme mode ${o.acme_mode})`);
      return true;
    },

    register() {
      if (!settings) fail('not configured');
      if (ua) {
        ua.register();
        return true;
      }
      ua = new JsSIP.UA({
        sockets: [new JsSIP.WebSocketInterface(settings.ws_url)],
        uri: settings.impu,
        authorization_user: settings.impi,
        password: settings.password,
        display_name: settings.display_name,
        register_expires: settings.register_expires,
        user_agent: 'acme-softphone/0.1 (wicct test page)',
        session_timers: false,
      });
      ua.on('connected', () => { status.connected = true; say('connected'); });
      ua.on('disconnected', () => { status.connected = false; status.registered = false; say('disconnected'); });
      ua.on('registered', () => { status.registered = true; say('registered'); });
      ua.on('unregistered', () => { status.registered = false; say('unregistered'); });
      ua.on('registrationFailed', (e) => { status.registered = false; say(`registration failed (${e.cause})`); });
      ua.on('newRTCSession', (e) => {
        if (e.originator === 'remote') {
          if (call) {
            e.session.terminate({ status_code: 486 });
            return;
          }
          track(e.session, true);
          say('ringing');
        }
      });
      ua.start();
      say('starting');
      return true;
    },

    unregister() {
      if (!ua) fail('not started');
      ua.unregister();
      return true;
    },

    call(target) {
      if (!ua) fail('not started');
      if (call) fail('already in a call');
      track(ua.call(target, media), false);
      say(`calling ${target}`);
      return true;
    },

    answer() {
      if (!call || !status.incoming) fail('nothing to answer');
      call.answer(media);
      return true;
    },

    hangup() {
      if (!call) fail('no call to hang up');
      call.terminate();
      return true;
    },

    stop() {
      if (ua) ua.stop();
      ua = null;
      return true;
    },

    state() {
      return Object.assign({ detail, vendor: 'acme' }, status);
    },
  };
  say('ready');
})();
